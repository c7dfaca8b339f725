import GearboxCore

/// Reads the host's cpufreq policies, CPUs and energy counters into a `HostInventory`.
public struct HostDiscovery: Sendable {
    public var control: any CPUFrequencyControl
    public var sysfs: CPUSysfs
    public var powercap: PowercapZones

    public init(
        control: any CPUFrequencyControl = LibCPUFreq(), sysfs: CPUSysfs = CPUSysfs(),
        powercap: PowercapZones = PowercapZones()
    ) {
        self.control = control
        self.sysfs = sysfs
        self.powercap = powercap
    }

    /// This host as a planner platform with the default power model (what `gearboxctl plan`
    /// uses without `--platform`).
    public func platform(power: DefaultPowerModel = DefaultPowerModel()) throws(DiscoveryError) -> Platform {
        try inventory().platform(power: power)
    }

    /// Reads every online CPU's policy. Throws when no CPU has cpufreq at all (a VM, a
    /// container without /sys, a kernel without a cpufreq driver) or none can be used.
    public func inventory() throws(DiscoveryError) -> HostInventory {
        let present = sysfs.presentCPUs()
        guard !present.isEmpty else { throw DiscoveryError.noCPUs(root: sysfs.root) }
        let online = present.filter(sysfs.isOnline)
        let onlineSet = Set(online)
        let offline = present.filter { !onlineSet.contains($0) }
        guard online.contains(where: sysfs.hasCPUFreq) else {
            throw DiscoveryError.noCPUFreq(root: sysfs.root, cpus: online)
        }
        var drafts: [DomainDraft] = []
        var unusable: [UnusableCPUs] = []
        var assigned = Set<Int>()
        for cpu in online where !assigned.contains(cpu) {
            guard sysfs.hasCPUFreq(cpu) else {
                assigned.insert(cpu)
                unusable.append(UnusableCPUs(name: nil, cpus: [cpu], reason: "cpu\(cpu) has no cpufreq directory"))
                continue
            }
            var related = control.relatedCPUs(cpu: cpu)
            if related.isEmpty { related = control.affectedCPUs(cpu: cpu) }
            if !related.contains(cpu) { related = (related + [cpu]).sorted() }
            let cpus = related.filter { onlineSet.contains($0) && !assigned.contains($0) }
            assigned.formUnion(cpus)
            assigned.insert(cpu)
            let name = sysfs.policyName(of: cpu) ?? "policy\(related[0])"
            switch read(cpu: cpu, name: name, cpus: cpus, related: related) {
            case .success(let draft): drafts.append(draft)
            case .failure(let reason): unusable.append(UnusableCPUs(name: name, cpus: cpus, reason: reason.description))
            }
        }
        guard !drafts.isEmpty else { throw DiscoveryError.nothingUsable(unusable) }
        let (counters, unreadable) = powercap.counters()
        return HostInventory(
            domains: Self.resolveCapacities(drafts), unusable: unusable, offlineCPUs: offline,
            energyCounters: counters, unreadableEnergyCounters: unreadable)
    }

    /// A domain read before capacities can be resolved (they depend on every domain's fmax).
    struct DomainDraft {
        var domain: InspectedDomain
        var sysfsCapacity: Int?
    }

    private func read(cpu: Int, name: String, cpus: [Int], related: [Int]) -> Result<DomainDraft, CPUFreqError> {
        guard let driver = control.driver(cpu: cpu) else {
            return .failure(sysfs.diagnose(cpu: cpu, file: "scaling_driver", numeric: false))
        }
        guard let limits = control.hardwareLimits(cpu: cpu) else {
            return .failure(sysfs.diagnose(cpu: cpu, numericFiles: ["cpuinfo_min_freq", "cpuinfo_max_freq"]))
        }
        guard limits.minimum <= limits.maximum else {
            return .failure(CPUFreqError(cpu: cpu, file: "cpuinfo_min_freq",
                                         cause: .malformed(text: "\(limits.minimum.value) > cpuinfo_max_freq \(limits.maximum.value)")))
        }
        guard let policy = control.policy(cpu: cpu) else {
            return .failure(sysfs.diagnosePolicy(cpu: cpu))
        }
        let table = control.availableFrequencies(cpu: cpu)
        let frequencies = table.isEmpty ? Self.steps(from: limits.minimum, to: limits.maximum) : table
        let capacities = cpus.compactMap(sysfs.capacity(of:))
        let domain = InspectedDomain(
            name: name, cpus: cpus, relatedCPUs: related, driver: driver, governor: policy.governor,
            governors: control.availableGovernors(cpu: cpu), frequencies: frequencies,
            hasFrequencyTable: !table.isEmpty, hardwareMinimum: limits.minimum, hardwareMaximum: limits.maximum,
            scalingMinimum: policy.minimum, scalingMaximum: policy.maximum, capacity: 0,
            capacitySource: .cpuCapacity,
            transitionLatencyMicroseconds: control.transitionLatencyNanoseconds(cpu: cpu).map { Double($0) / 1000 },
            energyPerformancePreference: sysfs.energyPerformancePreference(of: cpu))
        // CPUs of one policy share a capacity; if sysfs disagrees, the largest is the policy's.
        return .success(DomainDraft(domain: domain, sysfsCapacity: capacities.max()))
    }

    /// Frequencies for a driver without a table: both hardware limits and every multiple of
    /// 100 MHz between them (docs/model.md: 100 MHz steps).
    static func steps(from minimum: Kilohertz, to maximum: Kilohertz) -> [Kilohertz] {
        let step = 100_000
        var values = [minimum.value]
        var next = (minimum.value / step + 1) * step
        while next < maximum.value {
            values.append(next)
            next += step
        }
        if maximum.value > minimum.value { values.append(maximum.value) }
        return values.map(Kilohertz.init)
    }

    /// Capacity from `cpu_capacity` where the kernel gives it, else 1024 × fmax / max fmax.
    static func resolveCapacities(_ drafts: [DomainDraft]) -> [InspectedDomain] {
        let topFrequency = drafts.map { $0.domain.frequencies.last?.value ?? $0.domain.hardwareMaximum.value }.max() ?? 1
        return drafts.map { draft in
            var domain = draft.domain
            if let capacity = draft.sysfsCapacity {
                domain.capacity = min(capacity, 1024)
                domain.capacitySource = .cpuCapacity
            } else {
                let fmax = Double(domain.frequencies.last?.value ?? domain.hardwareMaximum.value)
                domain.capacity = max(1, Int(saturating: (1024 * fmax / Double(max(topFrequency, 1))).rounded()))
                domain.capacitySource = .maximumFrequency
            }
            return domain
        }.sorted { ($0.cpus.first ?? 0) < ($1.cpus.first ?? 0) }
    }
}

/// Why discovery found nothing to govern.
public enum DiscoveryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No `cpuN` directory at all.
    case noCPUs(root: String)
    /// CPUs exist but none has a cpufreq directory.
    case noCPUFreq(root: String, cpus: [Int])
    /// Policies exist but none can be read.
    case nothingUsable([UnusableCPUs])

    public var description: String {
        switch self {
        case .noCPUs(let root):
            return "\(root): no CPUs found (is /sys mounted?)"
        case .noCPUFreq(let root, let cpus):
            return "\(root): no cpufreq on CPUs \(CPUList.format(cpus)) (no cpufreq driver: a VM or container, or cpufreq disabled)"
        case .nothingUsable(let unusable):
            let reasons = unusable.prefix(3).map { "\($0.name ?? "cpu \(CPUList.format($0.cpus))"): \($0.reason)" }
            return "no usable cpufreq policy: " + reasons.joined(separator: "; ")
        }
    }
}
