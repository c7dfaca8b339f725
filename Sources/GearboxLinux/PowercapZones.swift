/// RAPL and other powercap zones with an energy counter (`/sys/class/powercap/*/energy_uj`).
public struct PowercapZones: Sendable {
    /// `/sys/class/powercap`; tests point it at a fixture.
    public var root: String

    public init(root: String = "/sys/class/powercap") { self.root = root }

    /// Every zone with a readable `energy_uj`, sorted by zone directory name.
    ///
    /// Zones without a readable counter (on recent kernels `energy_uj` is root-only) are left
    /// out; `unreadable` lists them so a report can say why.
    public func counters() -> (counters: [EnergyCounter], unreadable: [String]) {
        var found: [EnergyCounter] = []
        var unreadable: [String] = []
        for zone in (SysfsFile.list(root) ?? []).sorted() {
            let base = "\(root)/\(zone)"
            guard SysfsFile.exists("\(base)/energy_uj") else { continue }
            guard let energy = SysfsFile.readTrimmed("\(base)/energy_uj").flatMap({ UInt64($0) }) else {
                unreadable.append(zone)
                continue
            }
            found.append(EnergyCounter(
                zone: zone,
                name: SysfsFile.readTrimmed("\(base)/name") ?? zone,
                energyMicrojoules: energy,
                maxEnergyRangeMicrojoules: SysfsFile.readTrimmed("\(base)/max_energy_range_uj").flatMap { UInt64($0) }))
        }
        return (found, unreadable)
    }

    /// A fresh reading of one zone's counter, or nil when it cannot be read.
    public func read(zone: String) -> UInt64? {
        SysfsFile.readTrimmed("\(root)/\(zone)/energy_uj").flatMap { UInt64($0) }
    }
}

/// One energy counter: a powercap zone such as `intel-rapl:0` (package-0).
public struct EnergyCounter: Hashable, Sendable {
    /// The zone's directory name, e.g. `intel-rapl:0:0`.
    public var zone: String
    /// The zone's `name`, e.g. `package-0`, `core`, `dram`.
    public var name: String
    public var energyMicrojoules: UInt64
    /// The value at which the counter wraps to 0, when known.
    public var maxEnergyRangeMicrojoules: UInt64?

    public init(zone: String, name: String, energyMicrojoules: UInt64, maxEnergyRangeMicrojoules: UInt64?) {
        self.zone = zone
        self.name = name
        self.energyMicrojoules = energyMicrojoules
        self.maxEnergyRangeMicrojoules = maxEnergyRangeMicrojoules
    }

    /// Joules consumed between an earlier reading and this one, allowing for one wrap.
    public func joules(since earlier: EnergyCounter) -> Double {
        Self.joules(from: earlier.energyMicrojoules, to: energyMicrojoules, range: maxEnergyRangeMicrojoules)
    }

    /// Joules between two raw readings of a counter that wraps at `range` (+1).
    public static func joules(from earlier: UInt64, to later: UInt64, range: UInt64?) -> Double {
        if later >= earlier { return Double(later - earlier) / 1e6 }
        guard let range, range >= earlier else { return 0 }
        // The counter wrapped once: it went from `earlier` up to `range`, then 0 to `later`.
        return Double(range - earlier + later + 1) / 1e6
    }
}
