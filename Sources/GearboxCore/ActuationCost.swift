/// What one frequency switch of a domain costs (docs/model.md, "The cost of actuation"): the
/// agent's CPU time for the store (a timer wake-up and a write through a descriptor kept
/// open), and the transition latency, during which the domain's CPUs may stall at busy power
/// without doing work. The planner and the simulator both price switches with it, so that a
/// plan's two-speed mix and `compare`'s energy count the same cost.
public struct ActuationCost: Hashable, Sendable {
    /// Agent CPU time per switch, in seconds.
    public var cpuSecondsPerSwitch: Double = 10e-6
    /// The fraction of the transition latency the domain's CPUs spend stalled at busy power.
    public var stallFraction: Double = 1
    /// Transition latency, in seconds, for a domain whose latency is unknown (reported as 0
    /// or CPUFREQ_ETERNAL).
    public var unknownTransitionLatency: Double = 10e-6
    public init() {}

    /// No cost: switching is free (the model without actuation).
    public static let free: ActuationCost = {
        var cost = ActuationCost()
        cost.cpuSecondsPerSwitch = 0
        cost.stallFraction = 0
        return cost
    }()

    /// The transition latency a switch is priced with, in seconds.
    public func transitionLatency(_ reported: Double?) -> Double {
        // 0 and CPUFREQ_ETERNAL (4294967295 ns) mean unknown.
        guard let reported, reported > 0, reported < 4.29 else { return unknownTransitionLatency }
        return reported
    }

    /// Joules of one switch of a domain of `cpus` CPUs with transition latency `latency`
    /// (seconds, nil when unknown): the agent's CPU time at `agentWatts` plus the stall at
    /// `stallWatts` per CPU (the busy power of the point switched from or to, the higher).
    public func joulesPerSwitch(cpus: Int, latency: Double?, agentWatts: Double, stallWatts: Double) -> Double {
        cpuSecondsPerSwitch * agentWatts + stallFraction * transitionLatency(latency) * Double(cpus) * stallWatts
    }

    /// Watts a domain spends switching when it mixes two speeds with period `period`: two
    /// switches per period.
    public func watts(period: Double, joulesPerSwitch: Double) -> Double {
        period > 0 ? 2 / period * joulesPerSwitch : .infinity
    }
}

extension ActuationCost {
    /// Watts domain `domain` spends switching under `plan`: a two-speed time share switches
    /// twice per dither period; a pure speed (or a mix without a period) does not switch.
    /// The agent's CPU time is priced at the domain's top busy power.
    public func watts(domain: FrequencyDomain, plan: DomainPlan) -> Double {
        guard plan.isTimeShared, let period = plan.ditherPeriod else { return 0 }
        let stall = max(LatencyModel.power(domain: domain, at: plan.low), LatencyModel.power(domain: domain, at: plan.high))
        let joules = joulesPerSwitch(cpus: domain.cpus.count, latency: domain.transitionLatencyMicroseconds.map { $0 * 1e-6 },
                                     agentWatts: domain.fastestHullPoint.busyPower.value, stallWatts: stall)
        return watts(period: period, joulesPerSwitch: joules)
    }
}
