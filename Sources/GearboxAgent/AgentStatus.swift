import GearboxControl
import GearboxCore

/// What the agent knows at one moment, gathered for `gearboxctl status` and the metrics file.
/// The agent fills it from its loop state; `StatusDocument` and `MetricsFile` only read it.
public struct AgentStatus: Sendable {
    /// "service" or "dry-run" (the words of STATUS=).
    public var mode: String
    /// Seconds on the agent's clock, the one override expiry times are on.
    public var now: Double
    public var platform: Platform
    /// The plan in force (overrides applied), nil before the first.
    public var plan: Plan?
    /// The estimates the plan serves, with overridden latency targets.
    public var workload: Workload
    /// Mean response time in seconds measured from each queue's histogram over the last window.
    public var measuredLatency: [String: Double]
    /// Queues whose source stopped answering, with why (their CPUs are in kernel-only mode).
    public var staleQueues: [String: String]
    public var overrides: OverrideSet
    /// Each domain's last written frequency (the dither's current side).
    public var currentFrequencies: [String: Kilohertz]
    /// Domains held at their last good setting after a failed write.
    public var heldDomains: [String]
    /// The power profile plans are made under and why; nil when profiles are not followed.
    public var profile: ProfileStatus?
    /// How each domain's frequency is set (`userspace-setspeed`, `limit-clamps`, `limit-clamps+epp`).
    public var mechanisms: [String: String] = [:]
    /// The `power_model` object (`PowerModelDocument`); nil where no agent learns one.
    public var powerModel: JSONValue?
    /// Queue name → the CPUs its service is confined to (queues with a unit or cgroup).
    public var confinedCPUs: [String: [Int]] = [:]
    /// Each answering live queue's measured arrival dispersion.
    public var arrivalDispersion: [String: ArrivalDispersion] = [:]

    public init(
        mode: String, now: Double, platform: Platform, plan: Plan?, workload: Workload,
        measuredLatency: [String: Double] = [:], staleQueues: [String: String] = [:],
        overrides: OverrideSet = OverrideSet(), currentFrequencies: [String: Kilohertz] = [:],
        heldDomains: [String] = [], profile: ProfileStatus? = nil, powerModel: JSONValue? = nil
    ) {
        self.mode = mode
        self.now = now
        self.platform = platform
        self.plan = plan
        self.workload = workload
        self.measuredLatency = measuredLatency
        self.staleQueues = staleQueues
        self.overrides = overrides
        self.currentFrequencies = currentFrequencies
        self.heldDomains = heldDomains
        self.profile = profile
        self.powerModel = powerModel
    }

    /// Queue names in the order status lists them: the workload's, then stale ones not in it.
    var queueNames: [String] {
        let live = workload.queues.map(\.name)
        return live + staleQueues.keys.sorted().filter { !live.contains($0) }
    }
}
