import FuzzSupport
import GearboxSimulator

/// Arrival traces (`gearboxctl simulate --trace`): CSV of queue, time and work.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = try? ArrivalTrace.parse(csv: text(data, size))
    return 0
}

runLibFuzzer(fuzz)
