import FuzzSupport
import GearboxAgent

/// Prometheus text exposition, as a live queue scrapes it from an endpoint or file: parsed,
/// and the first sample's value looked up the way a queue source looks up its counters.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let samples = try? PrometheusText.parse(text(data, size)), let first = samples.first else { return 0 }
    if let value = PrometheusText.value(of: first.name, labels: first.labels, in: samples) {
        _ = counterIncrease(from: value, to: samples.last?.value ?? value)
    }
    return 0
}

runLibFuzzer(fuzz)
