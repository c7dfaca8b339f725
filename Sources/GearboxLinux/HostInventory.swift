import GearboxCore

/// The host's cpufreq state as sysfs shows it: what `gearboxctl inspect` prints and what the
/// planner's platform is built from.
public struct HostInventory: Hashable, Sendable {
    /// Usable frequency domains (cpufreq policies with at least one online CPU), by first CPU.
    public var domains: [InspectedDomain]
    /// Policies or CPUs that cannot be governed, each with the reason.
    public var unusable: [UnusableCPUs]
    /// CPUs present but offline; they are in no domain.
    public var offlineCPUs: [Int]
    /// Energy counters found (RAPL zones); may be empty.
    public var energyCounters: [EnergyCounter]
    /// Powercap zones whose counter exists but cannot be read (permissions).
    public var unreadableEnergyCounters: [String]

    public init(
        domains: [InspectedDomain], unusable: [UnusableCPUs] = [], offlineCPUs: [Int] = [],
        energyCounters: [EnergyCounter] = [], unreadableEnergyCounters: [String] = []
    ) {
        self.domains = domains
        self.unusable = unusable
        self.offlineCPUs = offlineCPUs
        self.energyCounters = energyCounters
        self.unreadableEnergyCounters = unreadableEnergyCounters
    }

    /// The domain named `name`, if any.
    public func domain(named name: String) -> InspectedDomain? {
        domains.first { $0.name == name }
    }
}

/// One cpufreq policy as read from sysfs.
public struct InspectedDomain: Hashable, Sendable {
    /// `policyN`, from the `cpuN/cpufreq` link (or the policy's first CPU on old kernels).
    public var name: String
    /// Online CPUs of the policy, ascending.
    public var cpus: [Int]
    /// Every CPU of the policy (`related_cpus`), online or not.
    public var relatedCPUs: [Int]
    public var driver: String
    public var governor: String
    public var governors: [String]
    /// The frequency table, or 100 MHz steps between the hardware limits when there is none.
    public var frequencies: [Kilohertz]
    /// Whether `scaling_available_frequencies` gave the frequencies.
    public var hasFrequencyTable: Bool
    public var hardwareMinimum: Kilohertz
    public var hardwareMaximum: Kilohertz
    public var scalingMinimum: Kilohertz
    public var scalingMaximum: Kilohertz
    /// `cpu_capacity`, or 1024 × fmax / the host's largest fmax.
    public var capacity: Int
    public var capacitySource: CapacitySource
    /// Microseconds; nil when the kernel reports 0 or CPUFREQ_ETERNAL (unknown).
    public var transitionLatencyMicroseconds: Double?
    /// `energy_performance_preference`, where the driver has one.
    public var energyPerformancePreference: String?

    public init(
        name: String, cpus: [Int], relatedCPUs: [Int], driver: String, governor: String, governors: [String],
        frequencies: [Kilohertz], hasFrequencyTable: Bool, hardwareMinimum: Kilohertz, hardwareMaximum: Kilohertz,
        scalingMinimum: Kilohertz, scalingMaximum: Kilohertz, capacity: Int, capacitySource: CapacitySource,
        transitionLatencyMicroseconds: Double?, energyPerformancePreference: String?
    ) {
        self.name = name
        self.cpus = cpus
        self.relatedCPUs = relatedCPUs
        self.driver = driver
        self.governor = governor
        self.governors = governors
        self.frequencies = frequencies
        self.hasFrequencyTable = hasFrequencyTable
        self.hardwareMinimum = hardwareMinimum
        self.hardwareMaximum = hardwareMaximum
        self.scalingMinimum = scalingMinimum
        self.scalingMaximum = scalingMaximum
        self.capacity = capacity
        self.capacitySource = capacitySource
        self.transitionLatencyMicroseconds = transitionLatencyMicroseconds
        self.energyPerformancePreference = energyPerformancePreference
    }

    /// How gearbox sets this domain's frequency: the userspace governor where the driver
    /// offers it, else clamping `scaling_min_freq` and `scaling_max_freq`.
    public var controlMethod: FrequencyControlMethod {
        governors.contains("userspace") ? .userspaceGovernor : .clampLimits
    }
}

/// Where a domain's capacity came from.
public enum CapacitySource: String, Hashable, Sendable {
    /// `cpuN/cpu_capacity`.
    case cpuCapacity = "cpu_capacity"
    /// 1024 × this domain's fmax / the largest fmax of the host (docs/model.md).
    case maximumFrequency = "max_frequency"
}

/// How a domain's frequency is set.
public enum FrequencyControlMethod: String, Hashable, Sendable, Codable {
    /// `scaling_governor = userspace`, then `scaling_setspeed`.
    case userspaceGovernor = "userspace"
    /// `scaling_min_freq = scaling_max_freq = f`.
    case clampLimits = "clamp"
}

/// CPUs gearbox cannot govern, and why (a policy it cannot read, a CPU without cpufreq).
public struct UnusableCPUs: Hashable, Sendable {
    /// The policy's name when known.
    public var name: String?
    public var cpus: [Int]
    public var reason: String
    public init(name: String?, cpus: [Int], reason: String) {
        self.name = name
        self.cpus = cpus
        self.reason = reason
    }
}
