import FuzzFixtures
import FuzzSupport
import GearboxConfig

/// The agent's configuration (/etc/gearbox/gearbox.toml), read at start and on every reload,
/// validated against the fixture platform.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = try? AgentConfigurationFile.parse(text(data, size), file: "fuzz.toml", platform: fuzzPlatform)
    return 0
}

runLibFuzzer(fuzz)
