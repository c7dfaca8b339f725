import GearboxCore

/// Turning a `Plan` into domain modes and dispatch tables, and the baselines' dispatch.
extension SimulationEngine {
    /// Installs `plan`: each domain's speeds (in the configured realisation) and each
    /// queue's split. Domains and queues the plan does not name keep what they had.
    mutating func install(_ plan: Plan) {
        plans += 1
        lastPlanFeasible = plan.feasible
        for domainPlan in plan.domains {
            guard let d = domainIndex(of: domainPlan) else { continue }
            setMode(domain: d, mode(for: domainPlan, domain: d))
        }
        installSplits(plan)
    }

    /// Installs `plan`'s splits only (what the baselines borrow from the oracle).
    mutating func installSplits(_ plan: Plan) {
        for queuePlan in plan.queues {
            guard let q = workload.queues.firstIndex(where: { $0.name == queuePlan.name }) else { continue }
            queues[q].table = table(queue: q, split: queuePlan.split)
            if queues[q].table.pooled { startIdleCPUs(ofPool: q) }
        }
    }

    private func domainIndex(of domainPlan: DomainPlan) -> Int? {
        if let d = models.firstIndex(where: { $0.name == domainPlan.name }) { return d }
        guard let cpu = domainPlan.cpus.first else { return nil }
        return platform.domainIndex(ofCPU: cpu)
    }

    private func mode(for plan: DomainPlan, domain d: Int) -> DomainMode {
        let low = models[d].index(of: plan.low), high = models[d].index(of: plan.high)
        if low == high || plan.pHigh >= 1 { return .fixed(high) }
        if plan.pHigh <= 0 { return .fixed(low) }
        switch configuration.realisation {
        case .perRequest:
            return .perRequest(low: low, high: high, p: plan.pHigh)
        case .timeShare:
            let theta = plan.timeShareHigh
            if theta >= 1 { return .fixed(high) }
            if theta <= 0 { return .fixed(low) }
            let period = configuration.ditherPeriod ?? plan.ditherPeriod
                ?? defaultDitherPeriod(domain: d, high: high)
            return .timeShare(low: low, high: high, theta: theta, period: period)
        }
    }

    /// docs/model.md's τ for plans that give none: `min(50 ms, 5 × the shortest mean service
    /// time of the domain's queues)`, never below `max(1 ms, 10 × transition latency)`.
    private func defaultDitherPeriod(domain d: Int, high: Int) -> Double {
        let domainCPUs = Set(models[d].cpus.map { cpuNumbers[$0] })
        let shortest = workload.queues
            .filter { !domainCPUs.isDisjoint(with: $0.allowedCPUs(on: platform)) }
            .map { $0.meanWork / models[d].speed(high) }
            .min() ?? .infinity
        let ceiling = min(configuration.planner.maxDitherPeriod, 5 * shortest)
        return max(ceiling, max(0.001, 10 * models[d].transitionLatency))
    }

    /// Queue `q`'s dispatch from a plan's split (CPU number → share).
    private func table(queue q: Int, split: [Int: Double]) -> DispatchTable {
        let shares = split.keys.sorted().compactMap { cpu -> (Int, Double)? in
            guard let i = cpuIndex[cpu], let share = split[cpu], share > 0, share.isFinite else { return nil }
            return (i, share)
        }
        switch workload.queues[q].dispatch {
        case .route:
            guard !shares.isEmpty else { return baselineTable(queue: q) }
            var table = routeTable(shares)
            table.pooled = workload.queues[q].confined
            return table
        case .forkJoin(let n, let k):
            // The plan's n CPUs: the largest shares (ties to the lower CPU).
            var chosen = shares.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(n).map(\.0)
            if k < n && chosen.count < n {
                chosen += preferredCPUs(queue: q).filter { !chosen.contains($0) }.prefix(n - chosen.count)
            }
            guard !chosen.isEmpty else { return baselineTable(queue: q) }
            chosen.sort()
            let weights = chosen.map { i in shares.first { $0.0 == i }?.1 ?? 0 }
            return forkJoinTable(cpus: chosen, weights: weights, needed: k == n ? chosen.count : k)
        }
    }

    /// What gearbox starts with, and the baselines under `.capacity`: route in proportion to capacity over the queue's CPUs (the
    /// kernel's load balance); fork-join on the n most capable CPUs, work in proportion
    /// to capacity when k = n.
    func baselineTable(queue q: Int) -> DispatchTable {
        let preferred = preferredCPUs(queue: q)
        switch workload.queues[q].dispatch {
        case .route:
            return routeTable(preferred.sorted().map { ($0, models[cpus[$0].domain].capacityScale) })
        case .forkJoin(let n, let k):
            let chosen = Array(preferred.prefix(n)).sorted()
            let weights = chosen.map { models[cpus[$0].domain].capacityScale }
            return forkJoinTable(cpus: chosen, weights: weights, needed: k == n ? chosen.count : min(k, chosen.count))
        }
    }

    /// Queue `q`'s CPUs (engine indices), most capable first, ties to the lower CPU.
    private func preferredCPUs(queue q: Int) -> [Int] {
        workload.queues[q].allowedCPUs(on: platform).compactMap { cpuIndex[$0] }.sorted {
            let a = models[cpus[$0].domain].capacityScale, b = models[cpus[$1].domain].capacityScale
            return a != b ? a > b : $0 < $1
        }
    }

    private func routeTable(_ shares: [(Int, Double)]) -> DispatchTable {
        let total = shares.reduce(0) { $0 + $1.1 }
        var cumulative = 0.0
        let weights = shares.map { share -> Double in
            cumulative += share.1 / total
            return cumulative
        }
        return DispatchTable(cpus: shares.map(\.0), weights: weights, needed: 0)
    }

    private func forkJoinTable(cpus chosen: [Int], weights: [Double], needed: Int) -> DispatchTable {
        let total = weights.reduce(0, +)
        let normalised = total > 0 ? weights.map { $0 / total } : weights.map { _ in 1 / Double(weights.count) }
        return DispatchTable(cpus: chosen, weights: normalised, needed: max(1, needed))
    }
}
