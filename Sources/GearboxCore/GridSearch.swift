/// A coarse exhaustive search for small route instances: per domain, a table of every
/// share combination (in steps of 1/`steps`), arrangement and level on a coarse grid; then
/// branch and bound over domains for every split of every queue. Route latency measures
/// add up over domains (`Σ_i x_i T_i`, `Σ_i x_i P(T_i > D)`), so a domain's table entry
/// does not depend on the other domains. The local search then refines the best entries.
struct GridSearch {
    let model: PlanningModel
    let steps: Int
    /// Upper bounds on work: domain evaluations for the tables, splits to combine.
    let maxEvaluations: Int
    let maxSplits: Int

    struct Entry {
        var power: Double
        var contribution: [Double]
        var time: Double
        var shares: [(entry: Int, share: Double)]
    }

    /// A grid solution: every entry's share and every domain's level.
    struct Solution {
        var power: Double
        var shares: [Double]
        var time: [Double]
    }

    /// Levels tried per domain: hull vertices from the top down to the cheapest, and the
    /// midpoints between them (`pureOnly`: the vertices only).
    func levels(_ d: Int, pureOnly: Bool? = nil) -> [Double] {
        let domain = model.domains[d]
        let vertices = domain.times.reversed().filter { $0 <= domain.cheapest * (1 + 1e-12) }
        var out: [Double] = []
        for (k, t) in vertices.enumerated() {
            out.append(t)
            if !(pureOnly ?? domain.pureOnly) && k + 1 < vertices.count { out.append((t + vertices[k + 1]) / 2) }
        }
        return out
    }

    /// A domain's table in `EvaluationMemo.gridTables`.
    struct TableKey: Hashable {
        var domain: Int
        var counts: [Int]
    }

    /// `entries(domain:queues:counts:probe:)` at `levels(d)`, from the part's memo: the
    /// table is computed once at every level (vertices and midpoints), and a domain that runs
    /// pure speeds only gets the vertices' entries of it. An entry depends on the domain's
    /// CPUs alone, never on whether it may mix, and filtering keeps the order by power.
    func table(domain d: Int, queues: [Int], counts: [Int], probe: inout PlanState, memo: EvaluationMemo) -> [Entry] {
        let key = TableKey(domain: d, counts: counts)
        let all: [Entry]
        if let known = memo.gridTables[key] {
            all = known
        } else {
            all = entries(domain: d, queues: queues, counts: counts, levels: levels(d, pureOnly: false), probe: &probe)
            memo.gridTables[key] = all
        }
        guard model.domains[d].pureOnly else { return all }
        let wanted = Set(levels(d))
        return all.filter { wanted.contains($0.time) }
    }

    /// The best `count` grid solutions, cheapest first; nil when the instance is too large
    /// for the grid (fork-join queues, or over the work bounds).
    func run(count: Int, memo: EvaluationMemo = EvaluationMemo()) -> [Solution]? {
        guard model.queues.allSatisfy(\.isRoute) else { return nil }
        // One domain and one queue: nothing to split, the local search is exact there.
        guard model.domains.count > 1 || model.queues.count > 1 else { return nil }
        let queueCount = model.queues.count
        var probe = PlanState(model: model, time: model.domains.map(\.fastest), memo: memo) { _, _ in 0 }
        // Domains each queue may use, and queues each domain may serve.
        let domainsOf = model.queues.map { queue in Array(Set(queue.cpus.map { model.cpuDomain[$0] })).sorted() }
        let queuesOf = model.domains.indices.map { d in model.queues.indices.filter { domainsOf[$0].contains(d) } }
        // Work bounds.
        var splits = 1
        for list in domainsOf {
            splits *= GridSearch.compositions(list.count, steps).count
            if splits > maxSplits { return nil }
        }
        var evaluations = 0
        // A queue with one domain puts everything there.
        func counts(_ q: Int) -> [Int] { domainsOf[q].count == 1 ? [steps] : Array(0...steps) }
        for d in model.domains.indices {
            var vectors = 1
            for q in queuesOf[d] { vectors *= counts(q).count }
            evaluations += vectors * levels(d).count * model.domains[d].cpus.count
        }
        guard evaluations <= maxEvaluations else { return nil }

        // Tables: per domain, per share vector (as grid counts), entries sorted by power.
        var tables: [[[Int]: [Entry]]] = Array(repeating: [:], count: model.domains.count)
        for d in model.domains.indices {
            for vector in GridSearch.vectors(queuesOf[d].map(counts)) {
                tables[d][vector] = table(domain: d, queues: queuesOf[d], counts: vector, probe: &probe, memo: memo)
            }
        }
        let budgets = model.queues.map { $0.quantile.map { 1 - $0 } ?? $0.target.seconds }
        var found: [(power: Double, picks: [Entry])] = []
        let perQueue = domainsOf.map { GridSearch.compositions($0.count, steps) }
        var choice = [Int](repeating: 0, count: queueCount)
        // Every split: queue q gives perQueue[q][choice[q]] grid steps to its domains.
        while true {
            var counts = [[Int]](repeating: [], count: model.domains.count)
            for d in model.domains.indices {
                counts[d] = queuesOf[d].map { q in perQueue[q][choice[q]][domainsOf[q].firstIndex(of: d)!] }
            }
            let lists = model.domains.indices.map { tables[$0][counts[$0]] ?? [] }
            combine(lists, budgets: budgets, keep: count, into: &found)
            var q = 0
            while q < queueCount {
                choice[q] += 1
                if choice[q] < perQueue[q].count { break }
                choice[q] = 0
                q += 1
            }
            if q == queueCount { break }
        }
        return found.map { item in
            var shares = [Double](repeating: 0, count: probe.share.count)
            for entry in item.picks { for (e, s) in entry.shares { shares[e] = s } }
            return Solution(power: item.power, shares: shares, time: item.picks.map(\.time))
        }
    }

    /// Entries of domain `d` for grid counts `counts` of its queues.
    func entries(domain d: Int, queues: [Int], counts: [Int], levels: [Double], probe: inout PlanState) -> [Entry] {
        // Spread each queue evenly over its CPUs on d, then the arrangements from there.
        var even: [(entry: Int, share: Double)] = []
        for (k, q) in queues.enumerated() {
            let list = probe.entries(ofQueue: q, onDomain: d)
            let copies = list.reduce(0) { $0 + probe.model.cpuCopies[probe.entryCPU[$1]] }
            for e in list {
                even.append((e, Double(counts[k]) / Double(steps) * Double(probe.model.cpuCopies[probe.entryCPU[e]]) / Double(copies)))
            }
        }
        probe.setShares(even)
        probe.commit()
        var layouts = [even]
        if queues.filter({ counts[queues.firstIndex(of: $0)!] > 0 }).count > 1 {
            layouts = probe.arrangements(domain: d)
        }
        var out: [Entry] = []
        for layout in layouts {
            probe.setShares(layout)
            for t in levels {
                probe.setTime(d, t)
                probe.commit()
                if let summary = probe.summary(domain: d) {
                    out.append(Entry(power: summary.power, contribution: summary.contribution, time: t, shares: layout))
                }
            }
        }
        return out.sorted { $0.power < $1.power }
    }

    /// Branch and bound over domains (cheapest entries first, contributions only add) for
    /// one split; its best plan joins `found`, which keeps the `keep` cheapest splits.
    func combine(_ lists: [[Entry]], budgets: [Double], keep: Int, into found: inout [(power: Double, picks: [Entry])]) {
        let count = lists.count
        var floor = [Double](repeating: 0, count: count + 1)
        for d in stride(from: count - 1, through: 0, by: -1) { floor[d] = floor[d + 1] + (lists[d].first?.power ?? .infinity) }
        guard floor[0].isFinite else { return }
        var bound = found.count < keep ? Double.infinity : found[found.count - 1].power
        var best: (power: Double, picks: [Entry])?
        var picks: [Entry] = []
        var used = [Double](repeating: 0, count: budgets.count)
        func visit(_ d: Int, _ power: Double) {
            if d == count {
                best = (power, picks)
                bound = power
                return
            }
            for entry in lists[d] {
                if power + entry.power + floor[d + 1] >= bound { break }
                var ok = true
                for q in budgets.indices where used[q] + entry.contribution[q] > budgets[q] { ok = false }
                guard ok else { continue }
                for q in budgets.indices { used[q] += entry.contribution[q] }
                picks.append(entry)
                visit(d + 1, power + entry.power)
                picks.removeLast()
                for q in budgets.indices { used[q] -= entry.contribution[q] }
            }
        }
        visit(0, 0)
        if let best {
            found.append(best)
            found.sort { $0.power < $1.power }
            if found.count > keep { found.removeLast() }
        }
    }

    /// Ways to give `total` grid steps to `parts` domains.
    static func compositions(_ parts: Int, _ total: Int) -> [[Int]] {
        if parts == 0 { return total == 0 ? [[]] : [] }
        if parts == 1 { return [[total]] }
        return (0...total).flatMap { first in compositions(parts - 1, total - first).map { [first] + $0 } }
    }

    /// Every vector with one value from each of `choices`.
    static func vectors(_ choices: [[Int]]) -> [[Int]] {
        guard let last = choices.last else { return [[]] }
        return vectors(Array(choices.dropLast())).flatMap { rest in last.map { rest + [$0] } }
    }
}

extension PlanState {
    /// Domain `d`'s power and, per queue, its route contribution `Σ_i x_i m_i`; nil when a
    /// CPU exceeds the utilisation bound.
    func summary(domain d: Int) -> (power: Double, contribution: [Double])? {
        var contribution = [Double](repeating: 0, count: model.queues.count)
        for i in model.domains[d].cpus {
            guard cpu[i].utilization <= model.configuration.maxUtilization else { return nil }
            for e in cpuEntries[i] where share[e] > 0 {
                let m = measure[e]
                guard m.isFinite else { return nil }
                contribution[entryQueue[e]] += share[e] * m
            }
        }
        let domain = model.domains[d]
        var power = Double(model.cpuCount(domain: d)) * domain.idle
        let w = work(domain: d)
        if w > 0 { power += w * model.marginalEnergy(domain: d, time: time[d]) }
        return (power * Double(domain.multiplicity), contribution)
    }
}
