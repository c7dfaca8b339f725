/// Settings of the planner (MODEL.md, "The optimisation").
public struct PlannerConfiguration: Hashable, Sendable {
    /// Upper bound on every CPU's utilisation ρ.
    public var maxUtilization: Double = 0.95
    /// Route shares below this are rounded to 0 (MODEL.md: a share below 1 % is 0).
    public var minimumShare: Double = 0.01
    /// Upper bound on the dither period τ, in seconds.
    public var maxDitherPeriod: Double = 0.050
    /// Inflation of fork-join k < n predictions (MODEL.md: independence under-estimates
    /// 1-of-2 by about 13 % and 1-of-3 by about 20 % in simulation; 25 % covers both).
    public var forkJoinMargin: Double = 0.25
    public init() {}
}

/// Minimises host power subject to every queue's latency target (MODEL.md).
///
/// STUB: returns the top-speed plan. Replaced by the planner issue's optimiser.
public struct Planner: Sendable {
    public var configuration: PlannerConfiguration
    public init(configuration: PlannerConfiguration = .init()) { self.configuration = configuration }

    public func plan(platform: Platform, workload: Workload) -> Plan {
        let domains = platform.domains.map {
            DomainPlan(name: $0.name, cpus: $0.cpus, low: $0.maxFrequency, high: $0.maxFrequency,
                       pHigh: 1, timeShareHigh: 1)
        }
        let queues = workload.queues.map { q in
            let cpus = q.allowedCPUs(on: platform)
            var split: [Int: Double] = [:]
            for c in cpus { split[c] = 1 / Double(cpus.count) }
            return QueuePlan(name: q.name, target: q.target, predictedLatency: .infinity, split: split)
        }
        return Plan(feasible: false, power: .zero, domains: domains, queues: queues, cpus: [])
    }
}
