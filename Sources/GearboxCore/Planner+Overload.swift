/// Overload (docs/model.md, "Overload"): when no plan meets every target, the targets that
/// can still be met are kept and the queues that cannot be served are isolated from them.
///
/// Which targets are given up:
/// 1. a queue whose target no plan meets even with the host to itself (its CPUs at top
///    speed, no other queue) is given up first: serving it can cost the others only;
/// 2. while the remaining targets cannot all be met, the queue of lowest `priority` is given
///    up (ties: the larger offered work, whose removal frees the most capacity; then the
///    later queue), and the rest tried again.
/// The kept queues are then planned on a set of whole domains and the given-up queues on
/// the others, at top speed (they miss anyway; the fastest service keeps the miss smallest).
/// The sets tried are the prefixes of the domains ordered by capacity, least capable first
/// and most capable first, and, when re-planning, by the kept queues' share in the splits in
/// force (`previousSplits`). Among those where the kept queues meet every target, the one
/// that gives the kept queues the least of the CPUs the given-up queues ran on wins (their
/// backlog is still queued there, and the model does not see it), then the one that leaves
/// the given-up queues the most capacity (everything the kept queues do not need: a model
/// that under-predicts their miss, on bursts, must not decide it), then the one with the
/// smallest largest relative miss (predicted over target) of the given-up queues (where that
/// is unbounded, the one whose given-up CPUs are least crowded), then the one of least power.
/// Without such a set (a given-up queue may use no CPU apart from the kept ones), the plan is
/// the infeasible top-speed plan.
///
/// A caller that measures latency may hold a queue given up (`plan(platform:workload:headroom:holding:)`)
/// while its measured latency misses although the model says it could be met (bursts the
/// rates do not show): it then gets the same isolated plan at top speed, never a cheaper
/// speed that the model thinks enough.
extension Planner {
    /// The overloaded plan for `workload`, given the plan that tried every target
    /// (`infeasible`), which is returned unchanged when nothing better is found.
    func planForOverload(_ infeasible: Plan, platform: Platform, workload: Workload) -> Plan {
        let count = workload.queues.count
        guard count > 1, count <= Self.overloadQueueLimit else { return infeasible }
        var givenUp: [Int: String] = [:]
        for q in 0..<count {
            let alone = planMeetingEveryTarget(platform: platform, workload: Workload(queues: [workload.queues[q]]))
            if !alone.feasible {
                givenUp[q] = "not met even with the host to itself: \(Self.miss(alone.queues[0]))"
            }
        }
        while givenUp.count < count {
            let kept = (0..<count).filter { givenUp[$0] == nil }
            if givenUp.isEmpty {
                // Every queue can be met alone but not together: give one up by priority.
            } else if let plan = isolated(kept: kept, givenUp: givenUp, platform: platform, workload: workload) {
                return plan
            }
            let dropped = kept.min { a, b in
                let qa = workload.queues[a], qb = workload.queues[b]
                if qa.priority != qb.priority { return qa.priority < qb.priority }
                let la = qa.arrivalRate * qa.meanWork, lb = qb.arrivalRate * qb.meanWork
                if la != lb { return la > lb }
                return a > b
            }!
            let keptNames = kept.filter { $0 != dropped }.map { workload.queues[$0].name }
            givenUp[dropped] = "priority \(workload.queues[dropped].priority): no plan meets it together with "
                + (keptNames.isEmpty ? "the queues already given up" : keptNames.joined(separator: ", "))
        }
        var plan = infeasible
        for q in plan.queues.indices { plan.queues[q].givenUp = givenUp[q] }
        return plan
    }

    /// The overloaded plan with the queues named in `held` (name → why) given up, whatever the
    /// model predicts for them: the others kept on whole domains (their targets shortened by
    /// `headroom` where that is still feasible), the held ones on every other CPU they may
    /// use, at top speed. Nil when the others cannot all be met that way, when nothing would
    /// be kept, or when `held` names no queue of `workload`.
    public func plan(platform: Platform, workload: Workload, headroom: Double, holding held: [String: String]) -> Plan? {
        let count = workload.queues.count
        guard count > 1, count <= Self.overloadQueueLimit else { return nil }
        var givenUp: [Int: String] = [:]
        for (q, queue) in workload.queues.enumerated() { givenUp[q] = held[queue.name] }
        let kept = (0..<count).filter { givenUp[$0] == nil }
        guard !givenUp.isEmpty, !kept.isEmpty else { return nil }
        var plan: Plan?
        if headroom > 0 {
            var shortened = workload
            for q in kept { shortened.queues[q].target.seconds *= 1 - headroom }
            plan = isolated(kept: kept, givenUp: givenUp, platform: platform, workload: shortened, topSpeed: true)
        }
        plan = plan ?? isolated(kept: kept, givenUp: givenUp, platform: platform, workload: workload, topSpeed: true)
        guard var plan else { return nil }
        for q in plan.queues.indices where q < count {
            plan.queues[q].target = workload.queues[q].target
            plan.queues[q].givenUp = givenUp[q]
        }
        return withinSwitchBudget(plan, platform: platform, workload: workload)
    }

    /// Queues an overloaded plan considers at most (each set tried plans twice).
    static let overloadQueueLimit = 16

    static func miss(_ queue: QueuePlan) -> String {
        let latency = queue.predictedLatency
        let predicted = latency.isFinite ? "\(Self.roundedMilliseconds(latency)) ms" : "unbounded (the CPUs cannot keep up)"
        return "\(queue.target.kind.rawValue) \(predicted) against \(Self.roundedMilliseconds(queue.target.seconds)) ms"
    }

    public static func roundedMilliseconds(_ seconds: Double) -> String {
        let ms = seconds * 1000
        let tenths = (ms * 10).rounded()
        guard tenths.isFinite, abs(tenths) < 1e15 else { return "\(ms)" }
        let whole = Int(tenths / 10), fraction = Int(abs(tenths) - Double(abs(whole)) * 10)
        return "\(whole).\(fraction)"
    }

    /// The best plan that meets every kept target on some domains and serves the given-up
    /// queues on the others (at top speed when `topSpeed`, else at the cheapest speed that
    /// meets them where one does); nil when there is none.
    private func isolated(kept: [Int], givenUp: [Int: String], platform: Platform, workload: Workload,
                          topSpeed: Bool = false) -> Plan? {
        var best: (plan: Plan, score: [Double])?
        let keptNames = Set(kept.map { workload.queues[$0].name })
        let givenUpNames = Set(givenUp.keys.map { workload.queues[$0].name })
        func previousShare(_ names: Set<String>, _ domain: Int) -> Double {
            names.reduce(0) { total, name in
                total + platform.domains[domain].cpus.reduce(0) { $0 + (previousSplits[name]?[$1] ?? 0) }
            }
        }
        let previousOrder = previousSplits.isEmpty ? nil : platform.domains.indices.sorted {
            let a = previousShare(keptNames, $0) - previousShare(givenUpNames, $0)
            let b = previousShare(keptNames, $1) - previousShare(givenUpNames, $1)
            return a != b ? a > b : $0 < $1
        }
        for domains in Self.candidateDomainSets(platform, firstOrder: previousOrder) {
            let inside = Set(domains.flatMap { platform.domains[$0].cpus })
            var keptLoad = Workload(queues: [])
            var overflow = Workload(queues: [])
            var feasibleLayout = true
            for q in kept {
                var queue = workload.queues[q]
                let cpus = queue.allowedCPUs(on: platform).filter(inside.contains)
                if cpus.isEmpty { feasibleLayout = false; break }
                queue.cpus = cpus
                keptLoad.queues.append(queue)
            }
            for q in givenUp.keys.sorted() where feasibleLayout {
                var queue = workload.queues[q]
                let cpus = queue.allowedCPUs(on: platform).filter { !inside.contains($0) }
                if cpus.isEmpty { feasibleLayout = false; break }
                queue.cpus = cpus
                overflow.queues.append(queue)
            }
            guard feasibleLayout else { continue }
            let keptPlan = planMeetingEveryTarget(platform: platform, workload: keptLoad)
            guard keptPlan.feasible else { continue }
            let overflowSearch = planMeetingEveryTarget(platform: platform, workload: overflow)
            let overflowPlan = overflowSearch.feasible && !topSpeed ? overflowSearch
                : atTopSpeed(topSpeed ? Self.spread(overflowSearch, over: overflow, platform: platform) : overflowSearch, platform: platform)
            var combined = keptPlan
            for d in combined.domains.indices where !domains.contains(d) {
                combined.domains[d] = overflowPlan.domains[d]
            }
            combined.queues = workload.queues.indices.map { q in
                let source = givenUp[q] == nil ? keptPlan.queues : overflowPlan.queues
                var queue = source.first { $0.name == workload.queues[q].name }!
                queue.givenUp = givenUp[q]
                return queue
            }
            combined = judgedExactly(combined, platform: platform, workload: workload)
            combined.feasible = false
            guard kept.allSatisfy({ combined.queues[$0].meetsTarget }) else { continue }
            // Largest relative miss; where that is unbounded (a queue beyond its CPUs'
            // capacity), the highest utilisation of the given-up queues' CPUs; then power.
            let miss = givenUp.keys.map { combined.queues[$0].predictedLatency / combined.queues[$0].target.seconds }.max() ?? 0
            let overflowCPUs = Set(overflow.queues.flatMap { $0.cpus ?? [] })
            let crowding = combined.cpus.filter { overflowCPUs.contains($0.cpu) }.map(\.utilization).max() ?? 0
            let backlog = domains.reduce(0) { $0 + previousShare(givenUpNames, $1) }
            let capacity = platform.domains.indices.filter { !domains.contains($0) }.reduce(0.0) { total, d in
                total + platform.domains[d].capacity * Double(platform.domains[d].cpus.filter(overflowCPUs.contains).count)
            }
            let score = [backlog, -capacity, miss, crowding, combined.power.value]
            if best.map({ score.lexicographicallyPrecedes($0.score) }) ?? true { best = (combined, score) }
        }
        guard var plan = best?.plan else { return nil }
        for q in plan.queues.indices where plan.queues[q].givenUp != nil && plan.queues[q].meetsTarget {
            plan.queues[q].givenUp = nil  // met after all, beside the kept ones
        }
        return plan
    }

    /// `plan` with each route queue of `workload` spread over all its CPUs in proportion to
    /// capacity: at top speed, the split that leaves no CPU it may use idle while another
    /// holds its backlog (a cheaper plan may have packed it onto fewer CPUs).
    static func spread(_ plan: Plan, over workload: Workload, platform: Platform) -> Plan {
        var plan = plan
        for queue in workload.queues {
            guard case .route = queue.dispatch, !queue.confined,
                  let q = plan.queues.firstIndex(where: { $0.name == queue.name }) else { continue }
            let cpus = queue.allowedCPUs(on: platform)
            let capacity = cpus.map { cpu in platform.domainIndex(ofCPU: cpu).map { platform.domains[$0].capacity } ?? 0 }
            let total = capacity.reduce(0, +)
            guard total > 0 else { continue }
            plan.queues[q].split = Dictionary(uniqueKeysWithValues: zip(cpus, capacity.map { $0 / total }))
        }
        return plan
    }

    /// Sets of whole domains (indices into `platform.domains`) to keep the met targets on:
    /// the proper prefixes of `firstOrder` and of the domains by capacity, descending and
    /// ascending (ties by index).
    static func candidateDomainSets(_ platform: Platform, firstOrder: [Int]? = nil) -> [[Int]] {
        let indices = Array(platform.domains.indices)
        let ascending = indices.sorted {
            platform.domains[$0].capacity != platform.domains[$1].capacity
                ? platform.domains[$0].capacity < platform.domains[$1].capacity : $0 < $1
        }
        let descending = indices.sorted {
            platform.domains[$0].capacity != platform.domains[$1].capacity
                ? platform.domains[$0].capacity > platform.domains[$1].capacity : $0 < $1
        }
        var sets: [[Int]] = []
        var seen = Set<[Int]>()
        for order in (firstOrder.map { [$0] } ?? []) + [descending, ascending] {
            for k in order.indices.dropFirst() {
                let set = order[..<k].sorted()
                if seen.insert(set).inserted { sets.append(set) }
            }
        }
        return sets
    }
}
