/// The plan for one frequency domain: two adjacent hull points and the mix between them.
public struct DomainPlan: Hashable, Sendable {
    public var name: String
    public var cpus: [Int]
    public var low: Kilohertz
    public var high: Kilohertz
    /// Probability that a request runs at `high` (per-request model).
    public var pHigh: Double
    /// Fraction of time at `high` that realises `pHigh` (docs/model.md, "time-shared two-speed").
    public var timeShareHigh: Double
    /// Dither period in seconds; nil when the domain runs one pure speed.
    public var ditherPeriod: Double?
    /// Why the domain fell back to a pure speed, when it did.
    public var fallbackReason: String?

    public init(
        name: String, cpus: [Int], low: Kilohertz, high: Kilohertz, pHigh: Double,
        timeShareHigh: Double, ditherPeriod: Double? = nil, fallbackReason: String? = nil
    ) {
        self.name = name
        self.cpus = cpus
        self.low = low
        self.high = high
        self.pHigh = pHigh
        self.timeShareHigh = timeShareHigh
        self.ditherPeriod = ditherPeriod
        self.fallbackReason = fallbackReason
    }
}

extension DomainPlan {
    /// Whether the domain alternates between two speeds with a dither period: the only plans
    /// that switch frequency while they are in force.
    public var isTimeShared: Bool { low != high && pHigh > 0 && pHigh < 1 && ditherPeriod != nil }
}

/// The plan for one queue: its split and its predicted latency against the target.
public struct QueuePlan: Hashable, Sendable {
    public var name: String
    public var target: LatencyTarget
    /// Predicted latency in seconds, of the target's kind.
    public var predictedLatency: Double
    /// Share of requests (route) or of work (fork-join, k = n) per CPU; CPUs absent get 0.
    /// For fork-join with k < n, the CPUs that take the subtasks, each with 1/n.
    public var split: [Int: Double]
    /// Margin the prediction carries (fork-join k < n), as a fraction; 0 when none.
    public var margin: Double
    /// Why an overloaded plan gave up this queue's target (`Planner.planForOverload`); nil
    /// when the plan tries to meet it.
    public var givenUp: String? = nil
    /// The planning target over the real one (`LatencyFeedback`; 1 without a correction).
    public var planningFactor: Double = 1
    /// The index of dispersion of arrivals the plan was made with (`ArrivalDispersion`: the
    /// work's SCV raised by it minus 1); 1 plans Poisson arrivals.
    public var arrivalDispersion: Double = 1
    /// The queue's service is confined to the CPUs of its split (shares follow CPU speed).
    public var confined = false

    public init(
        name: String, target: LatencyTarget, predictedLatency: Double, split: [Int: Double],
        margin: Double = 0
    ) {
        self.name = name
        self.target = target
        self.predictedLatency = predictedLatency
        self.split = split
        self.margin = margin
    }

    public var meetsTarget: Bool { predictedLatency <= target.seconds * (1 + 1e-9) }
}

/// Per-CPU outcome of a plan.
public struct CPUPlan: Hashable, Sendable {
    public var cpu: Int
    public var utilization: Double
    public var power: Watts
    public init(cpu: Int, utilization: Double, power: Watts) {
        self.cpu = cpu
        self.utilization = utilization
        self.power = power
    }
}

/// A complete plan for a host: frequencies per domain, splits per queue, predicted power.
public struct Plan: Hashable, Sendable {
    public var feasible: Bool
    public var power: Watts
    public var domains: [DomainPlan]
    public var queues: [QueuePlan]
    public var cpus: [CPUPlan]
    /// The power profile the plan was made under, when the agent made it.
    public var profile: PlanProfile?
    /// The power model the plan was made with (the agent sets `.learned` when it planned with
    /// curves fitted to the energy counters).
    public var powerModel: PowerModelSource = .configured
    /// The part of `power` that switching frequency costs (`ActuationCost`): the CPUs' watts
    /// and this add up to `power`.
    public var switchingPower = Watts(0)

    public init(
        feasible: Bool, power: Watts, domains: [DomainPlan], queues: [QueuePlan], cpus: [CPUPlan]
    ) {
        self.feasible = feasible
        self.power = power
        self.domains = domains
        self.queues = queues
        self.cpus = cpus
    }
}
