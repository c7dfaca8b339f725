/// Confined queues (docs/model.md, "Pools"): the agent confines such a queue's service to a
/// set of CPUs and the kernel balances its threads inside the set, so the only split the host
/// can realise is a set of CPUs, over which the kernel spreads the work so as to even out the
/// CPUs' utilisation (`balance`: shares follow speed where the queue is alone). The planner plans
/// the host without the constraint, takes the CPUs each confined queue uses there (and, as a
/// other candidates, those where the free plan gave it at least half its speed-proportional
/// share, and those where it carries the most work of all queues), gives the queue the
/// balanced shares over them, and judges the result with
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
        var tried: [[Int: [Int]]] = []
        for rule in PoolSetRule.allCases {
            let sets = poolSets(unconstrained, platform: platform, workload: workload, rule: rule)
            guard !tried.contains(sets) else { continue }
            tried.append(sets)
            let candidate = realisePools(unconstrained, sets: sets, platform: platform, workload: workload)
            if candidate.feasible {
                if best.map({ candidate.power.value < $0.power.value }) ?? true { best = candidate }
            } else if fallback == nil {
                fallback = candidate
            }
        }
        return best ?? fallback!
    }

    /// How a confined queue's set is taken from the unconstrained plan.
    enum PoolSetRule: CaseIterable {
        /// Every CPU the queue uses.
        case used
        /// The CPUs where it has at least half its speed-proportional share.
        case substantial
        /// The CPUs where it has the largest share of all queues (its own CPUs when the free
        /// plan shares a CPU between queues).
        case dominant
    }

    /// Per confined queue (by index): the CPUs its service will be confined to.
    func poolSets(_ plan: Plan, platform: Platform, workload: Workload, rule: PoolSetRule) -> [Int: [Int]] {
        var sets: [Int: [Int]] = [:]
        // Work per second each queue sends to each CPU in the free plan.
        var load: [Int: [String: Double]] = [:]
        for (queue, planned) in zip(workload.queues, plan.queues) {
            for (cpu, share) in planned.split where share > 0 { load[cpu, default: [:]][queue.name] = share * queue.arrivalRate * queue.meanWork }
        }
        for (q, queue) in workload.queues.enumerated() where queue.confined {
            let split = plan.queues.first { $0.name == queue.name }?.split ?? [:]
            var used = split.filter { $0.value > 0 }.keys.sorted()
            if used.isEmpty { used = queue.allowedCPUs(on: platform) }
            var kept = used
            switch rule {
            case .used:
                break
            case .substantial:
                let speeds = used.map { Self.effectiveSpeed(ofCPU: $0, plan: plan, platform: platform) }
                let total = speeds.reduce(0, +)
                kept = used.indices.filter { (split[used[$0]] ?? 0) >= 0.5 * speeds[$0] / total }.map { used[$0] }
            case .dominant:
                kept = used.filter { cpu in
                    let mine = load[cpu]?[queue.name] ?? 0
                    return (load[cpu] ?? [:]).allSatisfy { $0.key == queue.name || $0.value < mine }
                }
            }
            sets[q] = kept.isEmpty ? used : kept
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
            Self.balance(&plan, sets: sets, platform: platform, workload: workload)
            let judged = judgedWithPools(plan, sets: sets, platform: platform, workload: workload)
            if judged.feasible { return slowedDown(judged, sets: sets, platform: platform, workload: workload) }
            guard let faster = spedUp(judged, platform: platform, workload: workload) else {
                var top = judged
                top.feasible = false
                return top
            }
            plan = faster
        }
        var last = judgedWithPools(plan, sets: sets, platform: platform, workload: workload)
        last.feasible = false
        return last
    }

    /// `plan` judged by `LatencyModel`; with the Allen–Cunneen pool model, a confined queue
    /// that has its set to itself is judged as one M/G/c queue instead (`PoolLatency`).
    func judgedWithPools(_ plan: Plan, sets: [Int: [Int]], platform: Platform, workload: Workload) -> Plan {
        var judged = judgedExactly(plan, platform: platform, workload: workload)
        guard configuration.poolModel == .allenCunneen else { return judged }
        for (q, cpus) in sets {
            let queue = workload.queues[q]
            guard let index = judged.queues.firstIndex(where: { $0.name == queue.name }) else { continue }
            let alone = judged.queues.allSatisfy { other in
                other.name == queue.name || cpus.allSatisfy { (other.split[$0] ?? 0) == 0 }
            }
            guard alone else { continue }
            let used = cpus.filter { (judged.queues[index].split[$0] ?? 0) > 0 }
            let pool = PoolLatency(rate: queue.arrivalRate, work: queue.meanWork, scv: queue.scv,
                                   speeds: used.map { Self.effectiveSpeed(ofCPU: $0, plan: judged, platform: platform) })
            judged.queues[index].predictedLatency = pool.latency(queue.target.kind)
        }
        judged.feasible = judged.queues.allSatisfy(\.meetsTarget)
            && judged.cpus.allSatisfy { $0.utilization <= configuration.maxUtilization + 1e-9 }
        return judged
    }

    /// With the pool model, a feasible realisation may run slower than the free plan: the
    /// domains of the confined sets step down one operating point at a time (pure speeds)
    /// while the plan stays feasible and gets cheaper.
    func slowedDown(_ plan: Plan, sets: [Int: [Int]], platform: Platform, workload: Workload) -> Plan {
        guard configuration.poolModel == .allenCunneen else { return plan }
        let touched = Set(sets.values.flatMap { $0 })
        var best = plan
        var improved = true
        var rounds = 0
        while improved && rounds < platform.domains.reduce(0, { $0 + $1.operatingPoints.count }) {
            improved = false
            rounds += 1
            for d in best.domains.indices where best.domains[d].cpus.contains(where: touched.contains) {
                guard let domain = platform.domains.first(where: { $0.name == best.domains[d].name }) else { continue }
                let current = best.domains[d]
                let lower = current.low != current.high ? current.low
                    : domain.operatingPoints.last(where: { $0.frequency.value < current.low.value })?.frequency
                guard let frequency = lower else { continue }
                var trial = best
                trial.domains[d].low = frequency
                trial.domains[d].high = frequency
                trial.domains[d].pHigh = 1
                trial.domains[d].timeShareHigh = 1
                trial.domains[d].ditherPeriod = nil
                Self.balance(&trial, sets: sets, platform: platform, workload: workload)
                let judged = judgedWithPools(trial, sets: sets, platform: platform, workload: workload)
                if judged.feasible && judged.power.value < best.power.value - 1e-12 * abs(best.power.value) {
                    best = judged
                    improved = true
                }
            }
        }
        return best
    }

    /// Gives each confined queue the shares the kernel's balancing settles at: its work goes
    /// where it evens out the CPUs' utilisation (water-filling over the capacity the other
    /// queues leave on its set), so a queue alone on its set gets shares in proportion to
    /// speed. Overlapping sets are balanced in turn, a few rounds.
    static func balance(_ plan: inout Plan, sets: [Int: [Int]], platform: Platform, workload: Workload) {
        var index: [Int: Int] = [:]
        for q in sets.keys {
            if let i = plan.queues.firstIndex(where: { $0.name == workload.queues[q].name }) { index[q] = i }
        }
        let order = sets.keys.sorted()
        let speed = Dictionary(uniqueKeysWithValues: platform.cpus.map { ($0, effectiveSpeed(ofCPU: $0, plan: plan, platform: platform)) })
        for q in order {
            guard let i = index[q], let cpus = sets[q] else { continue }
            let total = cpus.reduce(0) { $0 + speed[$1, default: 0] }
            plan.queues[i].split = Dictionary(uniqueKeysWithValues: cpus.map { ($0, speed[$0, default: 0] / total) })
        }
        for _ in 0..<8 {
            for q in order {
                guard let i = index[q], let cpus = sets[q] else { continue }
                let own = workload.queues[q].arrivalRate * workload.queues[q].meanWork
                guard own > 0 else { continue }
                // Work per second the other queues bring to each CPU of the set.
                let other = cpus.map { cpu in
                    zip(workload.queues, plan.queues).reduce(0.0) { sum, pair in
                        pair.1.name == workload.queues[q].name ? sum
                            : sum + (pair.1.split[cpu] ?? 0) * pair.0.arrivalRate * pair.0.meanWork
                    }
                }
                let speeds = cpus.map { speed[$0, default: 0] }
                func placed(_ level: Double) -> Double {
                    zip(speeds, other).reduce(0) { $0 + max(0, level * $1.0 - $1.1) }
                }
                var low = 0.0, high = zip(speeds, other).map { s, o in s > 0 ? (o + own) / s : 0 }.max() ?? 0
                for _ in 0..<80 {
                    let middle = (low + high) / 2
                    if placed(middle) < own { low = middle } else { high = middle }
                }
                let shares = zip(speeds, other).map { max(0, high * $0.0 - $0.1) / own }
                let sum = shares.reduce(0, +)
                guard sum > 0 else { continue }
                plan.queues[i].split = Dictionary(uniqueKeysWithValues: zip(cpus, shares.map { $0 / sum }))
            }
        }
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
