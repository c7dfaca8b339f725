/// Confined queues (docs/model.md, "Pools"): the agent confines such a queue's service to a
/// set of CPUs and the kernel balances its threads inside the set, so the only split the host
/// can realise is a set of CPUs with each CPU's share following its speed. The planner plans
/// the host without the constraint, takes the CPUs each confined queue uses there (and, as a
/// second candidate, those where the free plan gave it at least half its speed-proportional
/// share), gives the queue speed-proportional shares over them, and judges the result with
/// `LatencyModel` (per-CPU FCFS, which a work-conserving pool beats). Where a target is
/// missed or a CPU overloaded, the domains of the queues that miss run one operating point
/// faster until the plan meets every target or they are at top speed. The cheaper of the
/// feasible candidates is the plan.
extension Planner {
    func planWithPools(platform: Platform, workload: Workload) -> Plan {
        var free = workload
        for q in free.queues.indices { free.queues[q].confined = false }
        let unconstrained = plan(platform: platform, workload: free)
        var best: Plan?
        var fallback: Plan?
        for keepHalf in [false, true] {
            let sets = poolSets(unconstrained, platform: platform, workload: workload, keepHalf: keepHalf)
            if keepHalf, sets == poolSets(unconstrained, platform: platform, workload: workload, keepHalf: false) { break }
            let candidate = realisePools(unconstrained, sets: sets, platform: platform, workload: workload)
            if candidate.feasible {
                if best.map({ candidate.power.value < $0.power.value }) ?? true { best = candidate }
            } else if fallback == nil {
                fallback = candidate
            }
        }
        return best ?? fallback!
    }

    /// Per confined queue (by index): the CPUs its service will be confined to.
    func poolSets(_ plan: Plan, platform: Platform, workload: Workload, keepHalf: Bool) -> [Int: [Int]] {
        var sets: [Int: [Int]] = [:]
        for (q, queue) in workload.queues.enumerated() where queue.confined {
            let split = plan.queues.first { $0.name == queue.name }?.split ?? [:]
            var used = split.filter { $0.value > 0 }.keys.sorted()
            if used.isEmpty { used = queue.allowedCPUs(on: platform) }
            if keepHalf {
                let speeds = used.map { Self.effectiveSpeed(ofCPU: $0, plan: plan, platform: platform) }
                let total = speeds.reduce(0, +)
                let kept = used.indices.filter { (split[used[$0]] ?? 0) >= 0.5 * speeds[$0] / total }.map { used[$0] }
                if !kept.isEmpty { used = kept }
            }
            sets[q] = used
        }
        return sets
    }

    /// `plan` with each confined queue spread over its set in proportion to speed, judged by
    /// `LatencyModel`, with domains sped up step by step while a target is missed.
    func realisePools(_ plan: Plan, sets: [Int: [Int]], platform: Platform, workload: Workload) -> Plan {
        var plan = plan
        for queue in workload.queues where queue.confined {
            if let index = plan.queues.firstIndex(where: { $0.name == queue.name }) { plan.queues[index].confined = true }
        }
        let steps = platform.domains.reduce(0) { $0 + $1.operatingPoints.count }
        for _ in 0...steps {
            for (q, cpus) in sets {
                guard let index = plan.queues.firstIndex(where: { $0.name == workload.queues[q].name }) else { continue }
                let speeds = cpus.map { Self.effectiveSpeed(ofCPU: $0, plan: plan, platform: platform) }
                let total = speeds.reduce(0, +)
                plan.queues[index].split = Dictionary(uniqueKeysWithValues: zip(cpus, speeds.map { $0 / total }))
            }
            let judged = judgedExactly(plan, platform: platform, workload: workload)
            if judged.feasible { return judged }
            guard let faster = spedUp(judged, platform: platform, workload: workload) else {
                var top = judged
                top.feasible = false
                return top
            }
            plan = faster
        }
        var last = judgedExactly(plan, platform: platform, workload: workload)
        last.feasible = false
        return last
    }

    /// The domains of queues that miss their target (or CPUs over the utilisation bound) one
    /// operating point faster; nil when all of them are at top speed.
    func spedUp(_ plan: Plan, platform: Platform, workload: Workload) -> Plan? {
        var slow = Set<Int>()
        for queue in plan.queues where !queue.meetsTarget {
            for (cpu, share) in queue.split where share > 0 { slow.insert(cpu) }
        }
        for cpu in plan.cpus where cpu.utilization > configuration.maxUtilization { slow.insert(cpu.cpu) }
        var next = plan
        var changed = false
        for d in next.domains.indices where next.domains[d].cpus.contains(where: slow.contains) {
            guard let domain = platform.domains.first(where: { $0.name == next.domains[d].name }),
                  let point = domain.operatingPoints.first(where: { $0.frequency.value > next.domains[d].low.value })
            else { continue }
            let frequency = next.domains[d].low != next.domains[d].high ? next.domains[d].high : point.frequency
            next.domains[d].low = frequency
            next.domains[d].high = frequency
            next.domains[d].pHigh = 1
            next.domains[d].timeShareHigh = 1
            next.domains[d].ditherPeriod = nil
            changed = true
        }
        return changed ? next : nil
    }

    /// Work per second a CPU does at its domain's planned speed mix (the kernel's balancing
    /// gives a busy pool's CPUs work in this proportion).
    static func effectiveSpeed(ofCPU cpu: Int, plan: Plan, platform: Platform) -> Double {
        guard let d = platform.domainIndex(ofCPU: cpu) else { return 0 }
        let domain = platform.domains[d]
        guard let planned = plan.domains.first(where: { $0.name == domain.name }) else { return domain.speed(at: domain.maxFrequency) }
        let time = planned.pHigh / domain.speed(at: planned.high) + (1 - planned.pHigh) / domain.speed(at: planned.low)
        return time > 0 && time.isFinite ? 1 / time : domain.speed(at: domain.maxFrequency)
    }
}
