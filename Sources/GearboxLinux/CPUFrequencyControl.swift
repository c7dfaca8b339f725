import GearboxCore

/// Reading a CPU's cpufreq state (libcpufreq in production).
///
/// Every call takes a Linux CPU number and reads that CPU's `cpuN/cpufreq/` directory; CPUs
/// of one policy share the answers. A read that fails returns nil or an empty list: callers
/// that must explain a failure use `CPUSysfs.diagnose`.
public protocol CPUFrequencyControl: Sendable {
    /// `scaling_driver`.
    func driver(cpu: Int) -> String?
    /// `scaling_governor`, `scaling_min_freq`, `scaling_max_freq`.
    func policy(cpu: Int) -> CPUFreqPolicy?
    /// `scaling_available_governors`.
    func availableGovernors(cpu: Int) -> [String]
    /// `scaling_available_frequencies`, ascending; empty for drivers without a table.
    func availableFrequencies(cpu: Int) -> [Kilohertz]
    /// `cpuinfo_min_freq` and `cpuinfo_max_freq`.
    func hardwareLimits(cpu: Int) -> HardwareLimits?
    /// `related_cpus`: every CPU of the policy, online or not.
    func relatedCPUs(cpu: Int) -> [Int]
    /// `affected_cpus`: the policy's online CPUs.
    func affectedCPUs(cpu: Int) -> [Int]
    /// `cpuinfo_transition_latency` in nanoseconds; nil when 0 or CPUFREQ_ETERNAL (unknown).
    func transitionLatencyNanoseconds(cpu: Int) -> Int?
    /// `stats/time_in_state`, ascending by frequency; empty when stats are not built in.
    func timeInState(cpu: Int) -> [FrequencyResidency]
    /// `scaling_cur_freq`.
    func currentFrequency(cpu: Int) -> Kilohertz?
    /// `scaling_governor` alone (what the read-back of a userspace-governor domain needs).
    func governor(cpu: Int) -> String?
}

extension CPUFrequencyControl {
    public func governor(cpu: Int) -> String? { policy(cpu: cpu)?.governor }
}

/// Writing a CPU's cpufreq policy: libcpufreq, or a dry run that only logs.
public protocol CPUFrequencyWriter: Sendable {
    /// False for a dry run: nothing reaches the kernel, so there is nothing to save or restore.
    var changesHardware: Bool { get }
    /// Writes `scaling_governor`.
    func setGovernor(_ governor: String, cpu: Int) throws(CPUFreqError)
    /// Writes `scaling_min_freq`.
    func setMinimum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError)
    /// Writes `scaling_max_freq`.
    func setMaximum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError)
    /// Writes `scaling_setspeed` (the userspace governor must be active).
    func setSpeed(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError)
}

/// The governor and limits of a cpufreq policy.
public struct CPUFreqPolicy: Hashable, Sendable {
    public var governor: String
    public var minimum: Kilohertz
    public var maximum: Kilohertz
    public init(governor: String, minimum: Kilohertz, maximum: Kilohertz) {
        self.governor = governor
        self.minimum = minimum
        self.maximum = maximum
    }
}

/// A policy's hardware frequency limits (`cpuinfo_min_freq`, `cpuinfo_max_freq`).
public struct HardwareLimits: Hashable, Sendable {
    public var minimum: Kilohertz
    public var maximum: Kilohertz
    public init(minimum: Kilohertz, maximum: Kilohertz) {
        self.minimum = minimum
        self.maximum = maximum
    }
}

/// Time spent at one frequency since boot (`stats/time_in_state`).
public struct FrequencyResidency: Hashable, Sendable {
    public var frequency: Kilohertz
    /// In units of 10 ms (USER_HZ), as the kernel counts it.
    public var ticks: UInt64
    public init(frequency: Kilohertz, ticks: UInt64) {
        self.frequency = frequency
        self.ticks = ticks
    }
    /// The residency in seconds.
    public var seconds: Double { Double(ticks) / 100 }
}
