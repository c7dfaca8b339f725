import FuzzSupport
import GearboxCore

/// Linux cpulist syntax (`0-3,8`), as read from sysfs and sent in override scopes.
/// A list that parses must format and parse back to the same CPUs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = text(data, size)
    guard let cpus = try? CPUList.parse(input) else { return 0 }
    let again = try? CPUList.parse(CPUList.format(cpus))
    precondition(again == cpus, "cpulist \(input.debugDescription) did not survive format and parse")
    return 0
}

runLibFuzzer(fuzz)
