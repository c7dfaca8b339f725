import FuzzFixtures
import FuzzSupport
import GearboxConfig

/// Workload files (`gearboxctl plan --workload`) validated against the fixture platform, and
/// the same text's first line as a `--queue name=…,rate=…` specification.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = text(data, size)
    _ = try? WorkloadFile.parse(input, file: "fuzz.toml", platform: fuzzPlatform)
    if let firstLine = input.split(separator: "\n", omittingEmptySubsequences: false).first {
        _ = try? QueueSpec.parse(String(firstLine), platform: fuzzPlatform)
    }
    return 0
}

runLibFuzzer(fuzz)
