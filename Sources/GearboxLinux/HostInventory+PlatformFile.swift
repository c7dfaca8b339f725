import GearboxCore

extension HostInventory {
    /// The name given to the driver of domains that come from a platform file on a host
    /// without cpufreq (`gearboxd --dry-run --platform FILE`).
    public static let platformFileDriver = "none (platform file)"

    /// A host described by a platform file alone, for a dry run where sysfs has no cpufreq
    /// (a VM, a container): each domain is clamped between its file's lowest and highest
    /// frequency, as a driver without the userspace governor would be.
    public init(describedBy platform: Platform) {
        self.init(domains: platform.domains.map { domain in
            let frequencies = domain.operatingPoints.map(\.frequency)
            return InspectedDomain(
                name: domain.name, cpus: domain.cpus, relatedCPUs: domain.cpus, driver: Self.platformFileDriver,
                governor: "none", governors: [], frequencies: frequencies, hasFrequencyTable: true,
                hardwareMinimum: domain.minFrequency, hardwareMaximum: domain.maxFrequency,
                scalingMinimum: domain.minFrequency, scalingMaximum: domain.maxFrequency,
                capacity: Self.inspectedCapacity(domain.capacity), capacitySource: .cpuCapacity,
                transitionLatencyMicroseconds: domain.transitionLatencyMicroseconds, energyPerformancePreference: nil)
        })
    }

    /// The file's capacity as sysfs would show it: an integer in 1...1024 (clamped in floating
    /// point first, so no value can trap the conversion).
    static func inspectedCapacity(_ capacity: Double) -> Int {
        guard capacity.isFinite else { return 1024 }
        return Int(min(1024, max(1, capacity)).rounded())
    }
}
