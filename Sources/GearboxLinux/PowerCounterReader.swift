import GearboxCore

/// What the power-curve learner reads (docs/model.md, "Learning the machine's power curve"):
/// the package energy counters under `/sys/class/powercap` and each policy's
/// `stats/time_in_state`.
public struct PowerCounterReader: Sendable {
    /// A top-level RAPL zone that measures a whole package, and the CPUs in that package.
    public struct PackageZone: Hashable, Sendable {
        /// The zone's directory name, e.g. `intel-rapl:0`.
        public var zone: String
        /// Its `name`, e.g. `package-0`.
        public var name: String
        public var cpus: Set<Int>
        /// The counter's wrap value, when known.
        public var maxEnergyRangeMicrojoules: UInt64?
    }

    public var powercap: PowercapZones
    public var sysfs: CPUSysfs

    public init(powercap: PowercapZones = PowercapZones(), sysfs: CPUSysfs = CPUSysfs()) {
        self.powercap = powercap
        self.sysfs = sysfs
    }

    /// The readable package zones (`package-N`, not their `core`/`uncore`/`dram` sub-zones nor
    /// `psys`), each with the CPUs whose `physical_package_id` is N; with a single package zone
    /// and no topology, every CPU. Zones whose CPUs cannot be told are left out.
    public func packageZones(cpus: [Int]) -> [PackageZone] {
        let found = powercap.counters().counters.filter { counter in
            counter.zone.split(separator: ":").count == 2 && counter.name.hasPrefix("package-")
        }
        // CPUs without a `physical_package_id` (no topology directory) are left out here.
        var packageOf: [Int: Int] = [:]
        for cpu in cpus { packageOf[cpu] = sysfs.topology(of: cpu).package }
        return found.compactMap { counter in
            guard let id = Int(counter.name.dropFirst("package-".count)) else { return nil }
            var members = Set(cpus.filter { packageOf[$0] == id })
            if members.isEmpty && found.count == 1 && packageOf.isEmpty { members = Set(cpus) }
            guard !members.isEmpty else { return nil }
            return PackageZone(zone: counter.zone, name: counter.name, cpus: members,
                               maxEnergyRangeMicrojoules: counter.maxEnergyRangeMicrojoules)
        }
    }

    /// The zone's counter now, in microjoules; nil when unreadable.
    public func energy(zone: String) -> UInt64? { powercap.read(zone: zone) }

    /// Seconds the policy of `cpu` has spent at each frequency since boot (`time_in_state`
    /// counts in units of 10 ms); nil when the kernel keeps no statistics or the file is junk.
    public func timeInState(cpu: Int) -> [Kilohertz: Double]? {
        guard let text = SysfsFile.readTrimmed("\(sysfs.root)/cpu\(cpu)/cpufreq/stats/time_in_state") else { return nil }
        var times: [Kilohertz: Double] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let f = Int(fields[0]), let t = UInt64(fields[1]),
                  InputLimits.frequencyKilohertz.contains(Double(f)) else { return nil }
            times[Kilohertz(f)] = Double(t) / 100
        }
        return times.isEmpty ? nil : times
    }
}
