extension Planner {
    /// The public plan for a searched state, with latency, utilisation and power from
    /// `LatencyModel`, the same evaluation any caller can run on the plan.
    func render(_ state: PlanState, feasible: Bool, reasons: [String?], platform: Platform, workload: Workload) -> Plan {
        let model = state.model
        let domains = model.domains.indices.map { d -> DomainPlan in
            let domain = model.domains[d]
            let mix = model.mix(domain: d, time: state.time[d])
            let points = domain.hull.points
            let low = points.first { $0.speed == mix.lowSpeed } ?? points[0]
            let high = points.first { $0.speed == mix.highSpeed } ?? points[points.count - 1]
            let mixing = mix.pHigh > 0 && mix.pHigh < 1 && low.frequency != high.frequency
            var plan = DomainPlan(
                name: domain.name, cpus: domain.cpus.map { model.cpuNumber[$0] },
                low: mixing ? low.frequency : high.frequency, high: high.frequency,
                pHigh: mixing ? mix.pHigh : 1, timeShareHigh: mixing ? mix.timeShareHigh : 1,
                fallbackReason: reasons[d])
            if mixing {
                let bounds = ditherBounds(state, domain: d)
                plan.ditherPeriod = max(bounds.floor, bounds.cap)
            }
            return plan
        }
        let queues = model.queues.indices.map { q -> QueuePlan in
            let queue = model.queues[q]
            var split: [Int: Double] = [:]
            for e in state.queueEntries[q] where state.share[e] > 0 {
                split[model.cpuNumber[state.entryCPU[e]]] = queue.isCoded ? 1 / Double(queue.parts.n) : state.share[e]
            }
            return QueuePlan(name: queue.name, target: queue.target, predictedLatency: 0, split: split, margin: queue.margin)
        }
        var plan = Plan(feasible: feasible, power: .zero, domains: domains, queues: queues, cpus: [])
        let prediction = LatencyModel.predict(platform: platform, workload: workload, plan: plan, configuration: configuration)
        for q in plan.queues.indices { plan.queues[q].predictedLatency = prediction.queues[q].latency }
        plan.cpus = prediction.cpus
        plan.power = prediction.power
        // Never claim a plan the independent evaluation does not confirm.
        plan.feasible = feasible && prediction.feasible
        return plan
    }
}
