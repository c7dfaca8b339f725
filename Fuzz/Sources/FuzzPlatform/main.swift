import FuzzSupport
import GearboxConfig

/// Platform files (`--platform`, the agent's `platform_file`): TOML, then every domain,
/// operating point and power model checked.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = try? PlatformFile.parse(text(data, size), file: "fuzz.toml")
    return 0
}

runLibFuzzer(fuzz)
