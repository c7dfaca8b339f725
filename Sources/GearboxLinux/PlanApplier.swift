import GearboxCore
import Logging

/// Applies frequencies to cpufreq policies: through the userspace governor and
/// `scaling_setspeed` where the driver offers it (`SetspeedActuator`), else by clamping
/// `scaling_min_freq` and `scaling_max_freq` to the frequency (`LimitClampActuator`), with
/// the energy-performance preference and boost as the plan's profile allows
/// (`EnergyPreferenceActuator`).
///
/// Before its first write it saves every domain's governor and limits to the state file
/// (unless the writer is a dry run); `restore()` puts them back. A write that fails is
/// logged once per CPU, file and cause; the domain is left at its last good setting (a
/// half-done clamp is rolled back) and not written again until the next `apply(_:)`.
public struct PlanApplier: Sendable {
    public struct Configuration: Sendable {
        /// Where the original settings are saved.
        public var stateFile = PolicyStateFile()
        /// Use the userspace governor where available; false always clamps the limits.
        public var useUserspaceGovernor = true
        public init() {}
    }

    /// One domain's live state.
    struct Lane: Sendable {
        var name: String
        var cpus: [Int]
        /// The CPU whose `cpufreq/` directory the writes go through.
        var writeCPU: Int
        var method: FrequencyControlMethod
        var governorSet = false
        var limits: (minimum: Kilohertz, maximum: Kilohertz)
        /// The last frequency that was written successfully.
        var frequency: Kilohertz?
        /// A write failed: skip the domain until the next plan.
        var held = false
        /// A write fault was logged for this domain and has not cleared yet.
        var faulted = false
        /// What the limits read back as after the agent's last clamp (PlanApplier+ReadBack.swift).
        var readBackBaseline: ReadBackBaseline?
    }

    let control: any CPUFrequencyControl
    let writer: any CPUFrequencyWriter
    let sysfs: CPUSysfs
    let configuration: Configuration
    var logger: Logger
    var lanes: [Lane]
    var snapshot: PolicySnapshot?
    var loggedFaults = Set<String>()
    /// The next domain `changedBehindOurBack` reads back.
    var readBackCursor = 0
    /// Energy-performance preferences and boost, as the plan's profile allows (EnergyPreferenceActuator.swift).
    var energyPreferences: EnergyPreferenceActuator

    public init(
        inventory: HostInventory, control: any CPUFrequencyControl = LibCPUFreq(),
        writer: any CPUFrequencyWriter = LibCPUFreq(), sysfs: CPUSysfs = CPUSysfs(),
        configuration: Configuration = Configuration(), logger: Logger
    ) {
        self.control = control
        self.writer = writer
        self.sysfs = sysfs
        self.configuration = configuration
        self.logger = logger
        lanes = inventory.domains.map { d in
            Lane(name: d.name, cpus: d.cpus, writeCPU: d.cpus[0],
                 method: configuration.useUserspaceGovernor ? d.controlMethod : .clampLimits,
                 limits: (d.scalingMinimum, d.scalingMaximum))
        }
        energyPreferences = EnergyPreferenceActuator(inventory: inventory, sysfs: sysfs)
    }

    /// The frequency each domain was last set to, by domain name.
    public var frequencies: [String: Kilohertz] {
        var result: [String: Kilohertz] = [:]
        for lane in lanes { result[lane.name] = lane.frequency }
        return result
    }

    /// Domains whose writes failed and that are held at their last good setting.
    public var heldDomains: [String] { lanes.filter(\.held).map(\.name) }

    /// Sets every domain of the plan to the frequency it holds at the start of a dither
    /// period (H when its time share at H is positive, else L) and clears earlier holds.
    /// Returns the names of domains that could not be set.
    @discardableResult
    public mutating func apply(_ plan: Plan) -> [String] {
        clearHolds()
        var failed: [String] = []
        for domain in plan.domains {
            let frequency = domain.timeShareHigh > 0 ? domain.high : domain.low
            guard let name = laneName(for: domain) else {
                log(key: "unknown/\(domain.name)", "plan names a domain this host does not have",
                    ["cpufreq.domain": "\(domain.name)"])
                failed.append(domain.name)
                continue
            }
            if !setFrequency(frequency, domain: name) { failed.append(domain.name) }
        }
        return failed
    }

    /// Lets domains held after a failed write be written again.
    public mutating func clearHolds() {
        for i in lanes.indices { lanes[i].held = false }
    }

    /// Sets one domain's frequency; writes nothing when it is already there. False when the
    /// domain is held, unknown, or the write failed.
    @discardableResult
    public mutating func setFrequency(_ frequency: Kilohertz, domain name: String) -> Bool {
        guard let i = laneIndex(named: name) else { return false }
        return setFrequency(frequency, lane: i)
    }

    /// The index of the domain named `name`, for `setFrequency(_:lane:)`; nil when unknown.
    func laneIndex(named name: String) -> Int? {
        lanes.firstIndex { $0.name == name }
    }

    /// `setFrequency(_:domain:)` for the domain at `laneIndex(named:)`, without the name lookup
    /// (the dither writes thousands of times a second on a big host).
    @discardableResult
    mutating func setFrequency(_ frequency: Kilohertz, lane i: Int) -> Bool {
        guard lanes.indices.contains(i), !lanes[i].held else { return false }
        if lanes[i].frequency == frequency { return true }
        guard saveSnapshotIfNeeded() else { return false }
        // A CPU that vanished is replaced by another of the policy; at most once per CPU.
        for _ in 0..<max(1, lanes[i].cpus.count) {
            do throws(CPUFreqError) {
                try write(frequency, lane: i)
                lanes[i].frequency = frequency
                if lanes[i].faulted { faultCleared(lane: i) }
                return true
            } catch {
                if !recover(from: error, lane: i) { break }
            }
        }
        lanes[i].held = true
        return false
    }

    private func laneName(for domain: DomainPlan) -> String? {
        if lanes.contains(where: { $0.name == domain.name }) { return domain.name }
        return lanes.first { Set($0.cpus) == Set(domain.cpus) }?.name
    }

    private mutating func write(_ frequency: Kilohertz, lane i: Int) throws(CPUFreqError) {
        let cpu = lanes[i].writeCPU
        // One actuator per mechanism, chosen per domain at discovery (`method`).
        switch lanes[i].method {
        case .userspaceGovernor:
            try SetspeedActuator.set(frequency, cpu: cpu, governorSet: &lanes[i].governorSet, control: control, writer: writer)
        case .clampLimits:
            try LimitClampActuator.set(frequency, cpu: cpu, limits: &lanes[i].limits, writer: writer)
        }
    }

    /// Moves the limits from `current` to [f, f] in the order that keeps min ≤ max after each
    /// write: min first when f is not above the current max, else max first. If the second
    /// write fails the first is undone, so the policy keeps its last good limits.
    static func clamp(
        to f: Kilohertz, from current: (minimum: Kilohertz, maximum: Kilohertz), cpu: Int, writer: any CPUFrequencyWriter
    ) throws(CPUFreqError) -> (minimum: Kilohertz, maximum: Kilohertz) {
        try moveLimits(to: (f, f), from: current, cpu: cpu, writer: writer)
        return (f, f)
    }

    /// Writes new limits, each bound only when it changes, ordered so min ≤ max throughout.
    static func moveLimits(
        to target: (minimum: Kilohertz, maximum: Kilohertz), from current: (minimum: Kilohertz, maximum: Kilohertz),
        cpu: Int, writer: any CPUFrequencyWriter
    ) throws(CPUFreqError) {
        let minimumFirst = target.minimum <= current.maximum
        let changeMinimum = target.minimum != current.minimum
        let changeMaximum = target.maximum != current.maximum
        if minimumFirst {
            if changeMinimum { try writer.setMinimum(target.minimum, cpu: cpu) }
            if changeMaximum {
                do throws(CPUFreqError) { try writer.setMaximum(target.maximum, cpu: cpu) } catch {
                    if changeMinimum { try? writer.setMinimum(current.minimum, cpu: cpu) }
                    throw error
                }
            }
        } else {
            if changeMaximum { try writer.setMaximum(target.maximum, cpu: cpu) }
            if changeMinimum {
                do throws(CPUFreqError) { try writer.setMinimum(target.minimum, cpu: cpu) } catch {
                    if changeMaximum { try? writer.setMaximum(current.maximum, cpu: cpu) }
                    throw error
                }
            }
        }
    }

    /// Says once that a domain whose writes failed is written again, and forgets its faults
    /// so that a new one is logged again.
    private mutating func faultCleared(lane i: Int) {
        lanes[i].faulted = false
        let prefix = lanes[i].name + "/"
        loggedFaults = loggedFaults.filter { !$0.hasPrefix(prefix) }
        logger.notice("cpufreq writes to \(lanes[i].name) work again", metadata: [
            "cpufreq.domain": "\(lanes[i].name)", "cpu.id": "\(lanes[i].writeCPU)", "gearbox.event": "fault_cleared",
        ])
    }

    /// Logs the fault once; returns true when another CPU of the policy can take the writes.
    private mutating func recover(from error: CPUFreqError, lane i: Int) -> Bool {
        lanes[i].faulted = true
        // Someone may have changed the governor behind the agent's back (setspeed then
        // refuses): the next write checks it again and sets userspace if needed.
        lanes[i].governorSet = false
        let lane = lanes[i]
        var metadata: Logger.Metadata = [
            "cpufreq.domain": "\(lane.name)", "cpu.id": "\(error.cpu)", "cpufreq.file": "\(error.file)",
            "cpufreq.fault": "\(error.causeName)",
        ]
        if let value = error.value { metadata["cpufreq.value"] = "\(value)" }
        let onlineOthers = lane.cpus.filter { $0 != lane.writeCPU && sysfs.isOnline($0) && sysfs.hasCPUFreq($0) }
        switch error.cause {
        case .missing, .offline:
            if let next = onlineOthers.first {
                metadata["cpu.next"] = "\(next)"
                log(key: "\(lane.name)/\(error.faultKey)", "cpufreq write failed: \(error); writing through cpu\(next) instead", metadata)
                lanes[i].writeCPU = next
                lanes[i].governorSet = false
                return true
            }
        default:
            break
        }
        let why = lane.cpus.allSatisfy({ !sysfs.isOnline($0) }) ? " (every CPU of \(lane.name) is offline)" : ""
        log(key: "\(lane.name)/\(error.faultKey)",
            "cpufreq write failed: \(error)\(why); \(lane.name) stays at its last good setting until the next plan", metadata)
        return false
    }

    mutating func log(key: String, _ message: String, _ metadata: Logger.Metadata, level: Logger.Level = .warning) {
        guard loggedFaults.insert(key).inserted else { return }
        logger.log(level: level, "\(message)", metadata: metadata)
    }
}
