/// A host-wide budget of frequency switches (docs/model.md, "A budget of switches").
///
/// Pricing each switch (`ActuationCost`) keeps a two-speed mix wherever it saves more energy
/// than its switching costs, which on a host of a hundred mixing domains can mean tens of
/// thousands of stores a second: cheap in watts, but each one a wake-up and a sysfs write
/// the operator may not want to pay for. `PlannerConfiguration.maxSwitchRate` caps the
/// host's switches per second: where a plan's mixes switch more often than that, the mixes
/// that save least per switch run their faster speed alone until the rest fit.
///
/// The faster speed alone always keeps every target the mix kept (each request runs at
/// least as fast, the split is unchanged), so trimming never gives a target up; the plan is
/// judged again with the model and reports what the trimmed mixes cost.
extension Planner {
    /// Switches per second a plan's two-speed domains make: two per dither period each.
    public static func switchRate(_ plan: Plan) -> Double {
        plan.domains.reduce(0) { $0 + switchRate($1) }
    }

    static func switchRate(_ domain: DomainPlan) -> Double {
        guard domain.isTimeShared, let period = domain.ditherPeriod, period > 0 else { return 0 }
        return 2 / period
    }

    /// `plan` with its switches per second within `configuration.maxSwitchRate`, or `plan`
    /// itself when it is within (or there is no budget).
    func withinSwitchBudget(_ plan: Plan, platform: Platform, workload: Workload) -> Plan {
        guard let budget = configuration.maxSwitchRate else { return plan }
        var rate = Self.switchRate(plan)
        guard rate > budget * (1 + 1e-9) else { return plan }
        let mixing = plan.domains.indices.filter { Self.switchRate(plan.domains[$0]) > 0 }

        // What each mix saves, from one judgement of the plan with every mixing domain at its
        // faster speed (a domain's power depends on its own speeds only).
        var allFaster = plan
        for d in mixing { Self.runFasterSpeedAlone(&allFaster.domains[d], reason: nil) }
        let faster = LatencyModel.predict(platform: platform, workload: workload, plan: allFaster, configuration: configuration)
        let mixedWatts = Self.wattsByCPU(plan.cpus)
        let fasterWatts = Self.wattsByCPU(faster.cpus)
        let domainsByName = Dictionary(platform.domains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        struct Candidate { var index: Int; var rate: Double; var savingPerSwitch: Double; var name: String }
        let candidates = mixing.map { d -> Candidate in
            let domain = plan.domains[d]
            let cpuWatts = domain.cpus.reduce(0.0) { $0 + (fasterWatts[$1] ?? 0) - (mixedWatts[$1] ?? 0) }
            let switching = domainsByName[domain.name].map { configuration.actuation.watts(domain: $0, plan: domain) } ?? 0
            let r = Self.switchRate(domain)
            return Candidate(index: d, rate: r, savingPerSwitch: (cpuWatts - switching) / r, name: domain.name)
        }
        // Least saving per switch first; the name breaks ties so the plan stays deterministic.
        let order = candidates.sorted {
            ($0.savingPerSwitch, $0.name) < ($1.savingPerSwitch, $1.name)
        }
        var trimmed = plan
        for candidate in order where rate > budget * (1 + 1e-9) {
            let saving = candidate.savingPerSwitch * candidate.rate
            let reason = budget == 0
                ? "max_switches_per_second is 0: no two-speed mixes; running the faster speed alone"
                : "over the host's \(Self.perSecond(budget)) switches/s: this mix's \(Self.perSecond(candidate.rate)) switches/s "
                    + "saved \(milliwatts(saving)) mW, less per switch than the mixes kept; running the faster speed alone"
            Self.runFasterSpeedAlone(&trimmed.domains[candidate.index], reason: reason)
            rate -= candidate.rate
        }
        let prediction = LatencyModel.predict(platform: platform, workload: workload, plan: trimmed, configuration: configuration)
        let feasible = trimmed.feasible
        trimmed.adopt(prediction)
        // Faster speeds only shorten latencies; should rounding say otherwise, keep the
        // untrimmed plan rather than report a target missed for a budget.
        if feasible && !prediction.feasible { return plan }
        trimmed.feasible = feasible
        return trimmed
    }

    static func runFasterSpeedAlone(_ domain: inout DomainPlan, reason: String?) {
        domain.low = domain.high
        domain.pHigh = 1
        domain.timeShareHigh = 1
        domain.ditherPeriod = nil
        if let reason { domain.fallbackReason = reason }
    }

    static func wattsByCPU(_ cpus: [CPUPlan]) -> [Int: Double] {
        Dictionary(cpus.map { ($0.cpu, $0.power.value) }, uniquingKeysWith: { first, _ in first })
    }

    static func perSecond(_ rate: Double) -> String {
        rate >= 100 ? String(Int(saturating: rate.rounded())) : String((rate * 10).rounded() / 10)
    }
}
