/// Arrangements of route queues inside one domain: spread over all CPUs, or kept apart on
/// disjoint CPU groups. Power depends only on the domain's level, so the arrangement only
/// decides how slow the domain may run; local share moves rarely cross between them
/// (the path from shared to apart climbs first), hence these whole-domain moves.
extension PlanState {
    /// Route queues with work on domain `d`, with their entries there and their total share.
    func routeQueues(onDomain d: Int) -> [(queue: Int, entries: [Int], total: Double)] {
        domainQueues[d].compactMap { q in
            guard model.queues[q].isRoute else { return nil }
            let list = entries(ofQueue: q, onDomain: d)
            let total = list.reduce(0.0) { $0 + share[$1] }
            return total > 1e-12 ? (q, list, total) : nil
        }
    }

    /// Candidate arrangements of domain `d`, each as share changes keeping every queue's total there.
    func arrangements(domain d: Int) -> [[(entry: Int, share: Double)]] {
        let present = routeQueues(onDomain: d)
        guard !present.isEmpty else { return [] }
        let cpus = model.domains[d].cpus
        func spread(_ groups: [[Int]]) -> [(entry: Int, share: Double)]? {
            var out: [(entry: Int, share: Double)] = []
            for (k, item) in present.enumerated() {
                let mine = item.entries.filter { groups[k].contains(entryCPU[$0]) }
                guard !mine.isEmpty else { return nil }
                let copies = Double(mine.reduce(0) { $0 + model.cpuCopies[entryCPU[$1]] })
                for e in item.entries {
                    out.append((e, mine.contains(e) ? item.total * Double(model.cpuCopies[entryCPU[e]]) / copies : 0))
                }
            }
            return out
        }
        var out: [[(entry: Int, share: Double)]] = []
        if let shared = spread(present.map { _ in cpus }) { out.append(shared) }
        guard present.count > 1, cpus.count > 1 else { return out }
        if present.count == 2 {
            for first in 1..<cpus.count {
                let head = Array(cpus.prefix(first)), tail = Array(cpus.dropFirst(first))
                if let apart = spread([head, tail]) { out.append(apart) }
                let symmetric = present.allSatisfy { $0.entries.count == cpus.count }
                    && cpus.allSatisfy { model.cpuCopies[$0] == model.cpuCopies[cpus[0]] }
                if !symmetric, let apart = spread([tail, head]) { out.append(apart) }
            }
            return out
        }
        // More queues: CPU counts in proportion to work, at least one each while CPUs last.
        let demand = present.map { model.queues[$0.queue].rate * model.queues[$0.queue].work * $0.total }
        let total = demand.reduce(0, +)
        var counts = demand.map { max(1, Int(saturating: Double(cpus.count) * $0 / max(total, 1e-300))) }
        while counts.reduce(0, +) > cpus.count, let i = counts.indices.max(by: { (counts[$0], $0) < (counts[$1], $1) }) {
            if counts[i] <= 1 { break }
            counts[i] -= 1
        }
        guard counts.reduce(0, +) <= cpus.count else { return out }
        var groups: [[Int]] = []
        var next = 0
        for (k, count) in counts.enumerated() {
            let extra = k == counts.count - 1 ? cpus.count - next - count : 0
            groups.append(Array(cpus[next..<(next + count + extra)]))
            next += count + extra
        }
        if let apart = spread(groups) { out.append(apart) }
        return out
    }

    /// Picks the arrangement of domain `d` that lets it run cheapest (the current one on ties)
    /// and relaxes its level. Returns false when no arrangement is feasible.
    @discardableResult
    mutating func settle(_ d: Int) -> Bool {
        let candidates = arrangeWhenSettling && routeQueues(onDomain: d).count > 1 ? arrangements(domain: d) : []
        guard !candidates.isEmpty else { return relax(d) }
        let start = mark
        var best = relax(d) ? power : .infinity
        rollback(to: start)
        var choice: [(entry: Int, share: Double)]?
        for changes in candidates {
            setShares(changes)
            if relax(d) && power < best - 1e-12 * max(1, best) {
                best = power
                choice = changes
            }
            rollback(to: start)
        }
        if let choice { setShares(choice) }
        return relax(d)
    }

    /// Tries every arrangement of every domain; keeps the ones that lower host power (or the
    /// violation, in the infeasible search). Returns whether anything improved.
    @discardableResult
    mutating func improveArrangements(feasibleSearch: Bool) -> Bool {
        var improved = false
        for d in model.domains.indices where budget > 0 {
            let candidates = arrangements(domain: d)
            guard candidates.count > 1 || !candidates.isEmpty else { continue }
            var best = feasibleSearch ? power : violation
            var choice: [(entry: Int, share: Double)]?
            for changes in candidates where changes.contains(where: { share[$0.entry] != $0.share }) {
                let start = mark
                setShares(changes)
                if feasibleSearch {
                    if relevel([d]) && power < best - 1e-12 * max(1, best) {
                        best = power
                        choice = changes
                    }
                } else if violation < best - 1e-12 {
                    best = violation
                    choice = changes
                }
                rollback(to: start)
            }
            if let choice {
                setShares(choice)
                if feasibleSearch { _ = relevel([d]) }
                commit()
                improved = true
            }
        }
        return improved
    }
}
