/// The plan being assembled from the parts of the host, per original domain and queue.
struct Layout {
    var times: [Double]
    var reasons: [String?]
    var ditherPeriods: [Double?]
    /// Per queue: CPU number → share.
    var splits: [[Int: Double]]
    let model: PlanningModel

    init(model: PlanningModel) {
        self.model = model
        // A domain no queue may use has no work: its slowest point (any would do).
        times = model.domains.map(\.slowest)
        reasons = [String?](repeating: nil, count: model.domains.count)
        ditherPeriods = [Double?](repeating: nil, count: model.domains.count)
        splits = [[Int: Double]](repeating: [:], count: model.queues.count)
    }

    /// Copies the plan of one part back onto the original domains, CPUs and queues.
    mutating func record(_ part: PartPlan, restriction: PlanningModel.Restriction) {
        for (r, members) in restriction.domains.enumerated() {
            for d in members {
                times[d] = part.times[r]
                reasons[d] = part.reasons[r]
                ditherPeriods[d] = part.periods[r]
            }
        }
        for (local, members) in restriction.queueMembers.enumerated() {
            let coded = restriction.model.queues[local].isCoded
            let parts = Double(restriction.model.queues[local].parts.n)
            let entries = part.shares[local]
            var split: [Int: Double] = [:]
            // Every CPU the part's entries stand for, so that the split grows its table once.
            split.reserveCapacity(entries.reduce(0) { $0 + restriction.cpus[$1.cpu].count })
            for entry in entries {
                let copies = restriction.cpus[entry.cpu]
                let share = coded ? 1 / parts : entry.share / Double(copies.count)
                for i in copies { split[model.cpuNumber[i]] = share }
            }
            // Queues planned as one have one split: they share its storage.
            for q in members {
                if splits[q].isEmpty { splits[q] = split } else { splits[q].merge(split) { $1 } }
            }
        }
    }
}

/// A plan with the model that judged it (`Planner.judgedExactly` reuses it); nil where the
/// plan was not judged by one model of it.
struct RenderedPlan {
    var plan: Plan
    var model: LatencyModel?
}

extension Planner {
    /// The public plan, with latency, utilisation and power from `LatencyModel`: the same
    /// evaluation any caller can run on the plan.
    func render(_ layout: Layout, feasible: Bool, platform: Platform, workload: Workload) -> RenderedPlan {
        let model = layout.model
        let domains = model.domains.indices.map { d -> DomainPlan in
            let domain = model.domains[d]
            let mix = model.mix(domain: d, time: layout.times[d])
            let points = domain.hull.points
            let low = points.first { $0.speed == mix.lowSpeed } ?? points[0]
            let high = points.first { $0.speed == mix.highSpeed } ?? points[points.count - 1]
            let mixing = mix.pHigh > 0 && mix.pHigh < 1 && low.frequency != high.frequency
            return DomainPlan(
                name: domain.name, cpus: domain.cpus.map { model.cpuNumber[$0] },
                low: mixing ? low.frequency : high.frequency, high: high.frequency,
                pHigh: mixing ? mix.pHigh : 1, timeShareHigh: mixing ? mix.timeShareHigh : 1,
                ditherPeriod: mixing ? layout.ditherPeriods[d] : nil, fallbackReason: layout.reasons[d])
        }
        let queues = model.queues.indices.map { q in
            QueuePlan(name: model.queues[q].name, target: model.queues[q].target, predictedLatency: 0,
                      split: layout.splits[q], margin: model.queues[q].margin)
        }
        var plan = Plan(feasible: feasible, power: .zero, domains: domains, queues: queues, cpus: [])
        let judge = LatencyModel(platform: platform, workload: workload, plan: plan, configuration: configuration)
        let prediction = judge.prediction
        plan.adopt(prediction)
        // Never claim a plan the independent evaluation does not confirm.
        plan.feasible = feasible && prediction.feasible
        return RenderedPlan(plan: plan, model: judge)
    }
}
