import FuzzSupport
import GearboxConfig

/// The TOML subset every gearbox file is written in (platform, workload, agent config).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = try? TOMLParser.parse(text(data, size))
    return 0
}

runLibFuzzer(fuzz)
