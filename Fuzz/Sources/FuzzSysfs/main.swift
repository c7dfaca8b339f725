import FuzzSupport
import GearboxLinux

/// The sysfs value readers (cpulists in `present` and `online`, capacity, topology ids,
/// setspeed, EPP, the diagnosis of a failed libcpufreq read, RAPL energy counters), run on a
/// tmpfs tree whose files hold the input: its NUL-separated pieces, in the order of
/// `SysfsTree.valueFiles`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { UnsafeBufferPointer(start: $0, count: size) } ?? UnsafeBufferPointer(start: nil, count: 0)
    let pieces = bytes.split(separator: 0, omittingEmptySubsequences: false).map { UnsafeBufferPointer(rebasing: $0) }
    SysfsTree.write(pieces)

    let cpu = CPUSysfs(root: "\(SysfsTree.root)/cpu")
    for number in cpu.presentCPUs() {
        precondition(number == 0 || number == 1, "presentCPUs() names cpu\(number), which has no directory")
    }
    _ = cpu.isOnline(0)
    _ = cpu.isOnline(1)
    if let capacity = cpu.capacity(of: 0) { precondition(capacity > 0, "capacity \(capacity) is not positive") }
    _ = cpu.topology(of: 0)
    _ = cpu.setspeed(of: 0)
    _ = cpu.energyPerformancePreference(of: 0)
    _ = cpu.diagnose(cpu: 0, file: "scaling_setspeed", numeric: true).description
    _ = cpu.diagnosePolicy(cpu: 0).description

    let zones = PowercapZones(root: "\(SysfsTree.root)/powercap")
    let (counters, _) = zones.counters()
    if let earlier = counters.first, let now = zones.read(zone: earlier.zone) {
        let later = EnergyCounter(zone: earlier.zone, name: earlier.name, energyMicrojoules: now / 2,
                                  maxEnergyRangeMicrojoules: earlier.maxEnergyRangeMicrojoules)
        let joules = later.joules(since: earlier)
        precondition(joules >= 0 && joules.isFinite, "energy between readings \(joules) J")
    }
    return 0
}

runLibFuzzer(fuzz)
