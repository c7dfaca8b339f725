import GearboxCore

/// Re-planning that respects what is queued (docs/model.md, "Re-planning and backlog"): the
/// planner sees rates, not backlog, so after a burst the normal plan would move a short,
/// percentile-target queue back onto CPUs that still hold seconds of another queue's work,
/// and its requests would wait behind it. The simulator knows each CPU's backlog; while it is
/// longer than a percentile queue's target and than a control tick, that queue is planned
/// without those CPUs, as long as the restricted plan is feasible; once the backlog has
/// drained below the target, the next tick re-plans without the restriction.
extension SimulationEngine {
    /// The plan for `estimate` (`correctedPlan`), with each percentile-target queue kept off
    /// the CPUs whose backlog of other queues' work, at top speed, exceeds its target and a
    /// tick, where that plan is feasible and the unrestricted one would use such a CPU.
    mutating func backlogAwarePlan(_ planner: Planner, estimate: Workload) -> Plan {
        let plan = correctedPlan(planner, estimate: estimate)
        backlogRestriction = [:]
        holdGivenUp(plan)
        if let held = heldPlan(planner, estimate: estimate, plan: plan) { return held }
        guard plan.feasible else { return plan }
        var restricted = estimate
        var restriction: [Int: Set<Int>] = [:]
        for q in restricted.queues.indices where restricted.queues[q].target.kind.quantile != nil {
            // Backlog shorter than a tick drains before the next re-plan could act on it (and
            // a single long request in service is no backlog).
            let limit = max(restricted.queues[q].target.seconds, configuration.gearbox.tick)
            let allowed = restricted.queues[q].allowedCPUs(on: platform)
            let loaded = Set(allowed.filter { backlogSeconds(onCPU: $0, apartFrom: q) > limit })
            guard !loaded.isEmpty, loaded.count < allowed.count else { continue }
            let planned = plan.queues.first { $0.name == restricted.queues[q].name }?.split ?? [:]
            guard planned.contains(where: { loaded.contains($0.key) && $0.value > 0 }) else { continue }
            restricted.queues[q].cpus = allowed.filter { !loaded.contains($0) }
            restriction[q] = loaded
        }
        guard !restriction.isEmpty else { return plan }
        let dropped = correctionsDropped
        let kept = correctedPlan(planner, estimate: restricted)
        if kept.feasible {
            backlogRestriction = restriction
            return kept
        }
        correctionsDropped = dropped
        return plan
    }

    /// Whether the plan in force keeps a queue off CPUs whose backlog has drained below that
    /// queue's target (re-plan then, to give it those CPUs back).
    func backlogDrained() -> Bool {
        backlogRestriction.contains { q, loaded in
            loaded.allSatisfy { backlogSeconds(onCPU: $0, apartFrom: q) <= workload.queues[q].target.seconds }
        }
    }

    /// Seconds CPU `cpu` (platform number) needs at top speed for the work queued on it (the
    /// job in service included) of queues other than `q`.
    func backlogSeconds(onCPU cpu: Int, apartFrom q: Int) -> Double {
        guard let i = cpuIndex[cpu] else { return 0 }
        var work = waiting[i].work(apartFrom: Int32(q))
        if cpus[i].busy, cpus[i].job.queue != Int32(q) { work += cpus[i].remaining }
        let top = models[cpus[i].domain].capacityScale
        return top > 0 ? work / top : .infinity
    }
}
