/// Starting splits for the search: each queue spread in proportion to CPU speed, and, when
/// queues share CPUs, a start where they are kept apart (segregation is often cheaper and
/// local moves from a shared start rarely find it, since the path there climbs first).
struct SplitStart: Sendable {
    /// Per queue, per position in its CPU list.
    var shares: [[Double]]

    static func all(model: PlanningModel) -> [SplitStart] {
        var out = [proportional(model: model)]
        if let apart = segregated(model: model) { out.append(apart) }
        return out
    }

    /// Starts in which route queues that meet on a domain keep to chosen subsets of those
    /// shared domains: every combination, when there are at most `limit` (local moves
    /// rarely empty a queue out of a domain it shares, so the search tries these outright).
    static func presence(model: PlanningModel, limit: Int) -> [SplitStart]? {
        let route = model.queues.indices.filter { model.queues[$0].isRoute && model.queues[$0].cpus.count > 1 }
        guard route.count > 1 else { return nil }
        func domains(_ q: Int) -> [Int] { Array(Set(model.queues[q].cpus.map { model.cpuDomain[$0] })).sorted() }
        // Per queue: the subsets of its shared domains it may keep to.
        var options: [[Set<Int>]] = []
        var combinations = 1
        for q in route {
            let mine = domains(q)
            let shared = mine.filter { d in route.contains { $0 != q && domains($0).contains(d) } }
            let exclusive = Set(mine).subtracting(shared)
            var subsets: [Set<Int>] = []
            for mask in 0..<(1 << shared.count) {
                let chosen = Set(shared.indices.filter { mask & (1 << $0) != 0 }.map { shared[$0] })
                if !chosen.isEmpty || !exclusive.isEmpty { subsets.append(chosen.union(exclusive)) }
            }
            options.append(subsets)
            combinations *= subsets.count
            if combinations > limit { return partitions(model: model, route: route, domains: domains, limit: limit) }
        }
        var out: [SplitStart] = []
        let base = proportional(model: model)
        for index in 0..<combinations {
            var start = base
            var rest = index
            for (k, q) in route.enumerated() {
                let kept = options[k][rest % options[k].count]
                rest /= options[k].count
                let cpus = model.queues[q].cpus
                start.shares[q] = fractions(model, cpus: cpus, allowed: { kept.contains(model.cpuDomain[$0]) }, n: cpus.count, equal: false)
            }
            out.append(start)
        }
        return out
    }

    /// When the subset combinations are too many: the starts where every shared domain goes
    /// to exactly one of the route queues that may use it (a partition of the shared
    /// domains), if there are at most `limit` of those. Two queues over six shared domains
    /// have 4,096 subset combinations but 64 partitions, and the cheap plans of a hybrid
    /// host (one queue on the P-cores, the other on the E-cores) are among the partitions.
    static func partitions(model: PlanningModel, route: [Int], domains: (Int) -> [Int], limit: Int) -> [SplitStart]? {
        let owned = route.map { Set(domains($0)) }
        let shared = Array(Set(route.flatMap(domains))).sorted().filter { d in owned.filter { $0.contains(d) }.count > 1 }
        let candidates = shared.map { d in route.indices.filter { owned[$0].contains(d) } }
        var combinations = 1
        for c in candidates {
            combinations *= c.count
            if combinations > limit { return nil }
        }
        var out: [SplitStart] = []
        let base = proportional(model: model)
        for index in 0..<combinations {
            var owner: [Int: Int] = [:]
            var rest = index
            for (s, d) in shared.enumerated() {
                owner[d] = candidates[s][rest % candidates[s].count]
                rest /= candidates[s].count
            }
            var start = base
            var valid = true
            for (k, q) in route.enumerated() {
                let cpus = model.queues[q].cpus
                let weights = fractions(model, cpus: cpus, allowed: { owner[model.cpuDomain[$0]].map { $0 == k } ?? true },
                                        n: cpus.count, equal: false)
                guard weights.contains(where: { $0 > 0 }) else { valid = false; break }
                start.shares[q] = weights
            }
            if valid { out.append(start) }
        }
        return out
    }

    /// Top speed of CPU `i`, times the CPUs it stands for.
    static func speed(_ model: PlanningModel, _ i: Int) -> Double {
        let domain = model.domains[model.cpuDomain[i]]
        return domain.hull.highest.speed * Double(domain.multiplicity * model.cpuCopies[i])
    }

    /// Weights over `cpus` restricted to the first `n` by speed (ties: lower CPU), normalised.
    static func fractions(_ model: PlanningModel, cpus: [Int], allowed: (Int) -> Bool, n: Int, equal: Bool) -> [Double] {
        let ranked = cpus.indices.filter { allowed(cpus[$0]) }
            .sorted { (speed(model, cpus[$0]), -$0) > (speed(model, cpus[$1]), -$1) }
        let chosen = Set(ranked.prefix(n))
        var weights = cpus.indices.map { chosen.contains($0) ? (equal ? 1 : speed(model, cpus[$0])) : 0 }
        let total = weights.reduce(0, +)
        if total > 0 { weights = weights.map { $0 / total } }
        return weights
    }

    static func proportional(model: PlanningModel) -> SplitStart {
        SplitStart(shares: model.queues.map { queue in
            let (n, k) = queue.parts
            switch queue.kind {
            case .route: return fractions(model, cpus: queue.cpus, allowed: { _ in true }, n: queue.cpus.count, equal: false)
            case .forkJoin:
                // Chosen parts of coded work carry a flag 1, not a fraction.
                if k < n { return fractions(model, cpus: queue.cpus, allowed: { _ in true }, n: n, equal: true).map { $0 > 0 ? 1 : 0 } }
                return fractions(model, cpus: queue.cpus, allowed: { _ in true }, n: n, equal: false)
            }
        })
    }

    /// Route queues that share CPUs get disjoint CPU sets in each domain, sized by load.
    static func segregated(model: PlanningModel) -> SplitStart? {
        let route = model.queues.indices.filter { model.queues[$0].isRoute }
        var owners = [Int](repeating: -1, count: model.cpuNumber.count)
        var shared = false
        for domain in model.domains {
            let present = route.filter { q in domain.cpus.contains { model.queues[q].cpus.contains($0) } }
            guard present.count > 1 else { continue }
            shared = true
            let demand = present.map { model.queues[$0].rate * model.queues[$0].work }
            let total = demand.reduce(0, +)
            // CPU counts by largest remainder, at least one each while CPUs last.
            let n = domain.cpus.count
            var counts = demand.map { max(1, Int(saturating: Double(n) * $0 / max(total, 1e-300))) }
            while counts.reduce(0, +) > n, let i = counts.indices.max(by: { counts[$0] < counts[$1] }) { counts[i] -= 1 }
            while counts.reduce(0, +) < n {
                let i = counts.indices.max { Double(n) * demand[$0] / total - Double(counts[$0]) < Double(n) * demand[$1] / total - Double(counts[$1]) }!
                counts[i] += 1
            }
            // Heaviest queue first takes the CPUs it may use.
            let order = present.indices.sorted { (demand[$0], -$0) > (demand[$1], -$1) }
            for index in order {
                var left = counts[index]
                for i in domain.cpus where left > 0 && owners[i] == -1 && model.queues[present[index]].cpus.contains(i) {
                    owners[i] = present[index]
                    left -= 1
                }
            }
        }
        guard shared else { return nil }
        var start = proportional(model: model)
        for q in route {
            let cpus = model.queues[q].cpus
            let apart = fractions(model, cpus: cpus, allowed: { owners[$0] == -1 || owners[$0] == q }, n: cpus.count, equal: false)
            if apart.contains(where: { $0 > 0 }) { start.shares[q] = apart }
        }
        return start
    }
}
