/// Choosing each domain's level (mean time per work `t`) for the current split.
///
/// Host power is `Σ_d W_d g_d(t_d)` plus idle power, where `g_d` is convex and piecewise
/// linear in `t` (the two-speed mix interpolates the perspective of a convex hull), and
/// every latency measure grows with `t`. So a domain never runs slower than its cheapest
/// vertex (race to idle), and below that its best level is the slowest feasible one.
extension PlanState {
    /// The slowest level worth considering for domain `d`: its cheapest vertex, capped by
    /// the utilisation bound; the slowest point when it has no work.
    func ceiling(_ d: Int) -> Double {
        let domain = model.domains[d]
        var heaviest = 0.0
        for i in domain.cpus {
            var w = 0.0
            for e in cpuEntries[i] {
                let l = load(e)
                w += l.rate * l.work
            }
            heaviest = max(heaviest, w)
        }
        guard heaviest > 0 else { return domain.slowest }
        let bound = model.configuration.maxUtilization / heaviest * (1 - 1e-12)
        if domain.pureOnly { return snapDown(d, min(domain.cheapest, bound)) ?? domain.fastest }
        return max(domain.fastest, min(domain.cheapest, bound))
    }

    /// The largest vertex `t` at most `t` (for domains that run pure speeds only).
    func snapDown(_ d: Int, _ t: Double) -> Double? {
        model.domains[d].times.first { $0 <= t * (1 + 1e-12) }
    }

    /// Domain `d` and every queue it serves are within their bounds.
    func isSatisfied(_ d: Int) -> Bool {
        for q in domainQueues[d] where value[q] > 1 { return false }
        for i in model.domains[d].cpus where cpu[i].utilization > model.configuration.maxUtilization * (1 + 1e-12) {
            return false
        }
        return true
    }

    /// The largest normalised latency among the queues domain `d` serves.
    func worstValue(_ d: Int) -> Double {
        var worst = 0.0
        for q in domainQueues[d] { worst = max(worst, value[q]) }
        return worst
    }

    /// Moves domain `d` to its slowest feasible level with every other domain fixed.
    /// Returns false, leaving `d` at its fastest level, when even that is infeasible.
    ///
    /// Every level tried is an evaluation of the domain's CPUs, the bulk of the planner's
    /// time; a level already evaluated (the current one, the best one found) is restored
    /// from the log (`rollback(to:)`), which gives the same numbers, and charged to `budget`
    /// as an evaluation.
    @discardableResult
    mutating func relax(_ d: Int) -> Bool {
        if locked[d] { return isSatisfied(d) }
        let domain = model.domains[d]
        let high = ceiling(d)
        let cost = evaluationCost(domain: d)
        if domain.pureOnly { return relaxToVertex(d, ceiling: high, cost: cost) }
        let current = time[d]
        // The state at the current level, to come back to without evaluating it again.
        let atCurrent = mark
        let currentSatisfied = isSatisfied(d)
        setTime(d, high)
        if isSatisfied(d) { return true }
        // Bracket: low feasible, high infeasible. Start from the current level if it helps.
        var low = domain.fastest
        var lowMark: Mark
        if current > low && current < high && currentSatisfied {
            low = current
            rollback(to: atCurrent)
            budget -= cost
            lowMark = atCurrent
        } else {
            if current > low && current < high { budget -= cost }
            if current == low && current < high {
                rollback(to: atCurrent)
                budget -= cost
            } else {
                setTime(d, low)
            }
            if !isSatisfied(d) { return false }
            lowMark = mark
        }
        var lowValue = worstValue(d)
        var upper = high
        var upperValue = Double.infinity
        // Illinois regula falsi on worstValue(t) - 1, with bisection when values are unusable.
        var side = 0
        for _ in 0..<40 {
            if upper - low <= 1e-8 * upper { break }
            var t: Double
            if upperValue.isFinite && upperValue > 1 && lowValue < 1 {
                t = low + (upper - low) * (1 - lowValue) / (upperValue - lowValue)
                t = min(max(t, low + 0.02 * (upper - low)), upper - 0.02 * (upper - low))
            } else {
                t = (low + upper) / 2
            }
            setTime(d, t)
            let v = worstValue(d)
            if isSatisfied(d) {
                low = t
                lowMark = mark
                lowValue = v
                if side == -1 { upperValue = 1 + (upperValue - 1) / 2 }
                side = -1
                if 1 - v < 1e-6 { break }
            } else {
                upper = t
                upperValue = cpu(maxUtilizationExceededOn: d) ? .infinity : v
                if side == 1 { lowValue = 1 - (1 - lowValue) / 2 }
                side = 1
            }
        }
        if time[d] != low {
            rollback(to: lowMark)
            budget -= cost
        }
        return true
    }

    /// `relax` for a domain that runs pure speeds only: the slowest vertex up to `high` that
    /// is satisfied, by bisection over the vertices (latency and utilisation grow with the
    /// level, so satisfaction is monotone in it). `budget` is charged what trying them from
    /// the slowest up would cost, so that the plan does not depend on the shortcut.
    private mutating func relaxToVertex(_ d: Int, ceiling high: Double, cost: Int) -> Bool {
        let candidates = model.domains[d].times.filter { $0 <= high * (1 + 1e-12) }
        guard !candidates.isEmpty else { return false }
        let start = time[d], budgetBefore = budget
        // Indices up to `below` are unsatisfied, from `above` on satisfied (`count`: none known).
        var below = -1, above = candidates.count
        var aboveMark: Mark?
        if let k = candidates.firstIndex(of: start) {
            if isSatisfied(d) { (above, aboveMark) = (k, mark) } else { below = k }
        }
        while above - below > 1 {
            let middle = (below + above) / 2
            setTime(d, candidates[middle])
            if isSatisfied(d) { (above, aboveMark) = (middle, mark) } else { below = middle }
        }
        // What the scan from the slowest vertex would have evaluated.
        let scanned = min(above, candidates.count - 1) + 1 - (candidates[0] == start ? 1 : 0)
        defer { budget = budgetBefore - scanned * cost }
        guard let aboveMark else {
            setTime(d, candidates[candidates.count - 1])
            return false
        }
        rollback(to: aboveMark)
        return true
    }

    private func cpu(maxUtilizationExceededOn d: Int) -> Bool {
        model.domains[d].cpus.contains { cpu[$0].utilization > model.configuration.maxUtilization * (1 + 1e-12) }
    }

    /// Domains that carry work.
    var busyDomains: [Int] { model.domains.indices.filter { work(domain: $0) > 0 } }

    /// Chooses all levels for the current split from scratch: every busy domain at its
    /// fastest level, then slowed greedily by watts saved per unit of latency slack used,
    /// then each relaxed to its slowest feasible level, then slack traded between domains.
    /// Returns false when the split is infeasible even at top speed.
    mutating func chooseLevels() -> Bool {
        for d in model.domains.indices {
            setTime(d, work(domain: d) > 0 ? model.domains[d].fastest : ceiling(d))
        }
        commit()
        guard isFeasible else { return false }
        let busy = busyDomains
        slowGreedily(busy)
        for d in busy { relax(d) }
        tradeSlack(busy)
        commit()
        return true
    }

    /// Slows domains in steps of a fraction of their range, each time the one that saves
    /// the most watts per unit of slack it uses, with shrinking steps.
    mutating func slowGreedily(_ domains: [Int]) {
        commit()
        for fraction in [0.25, 0.0625] {
            for _ in 0..<(domains.count * 8) {
                var best: (score: Double, d: Int, t: Double)?
                for d in domains where !locked[d] {
                    let top = ceiling(d)
                    guard time[d] < top else { continue }
                    let before = power, values = value
                    var t = min(top, time[d] + fraction * (top - model.domains[d].fastest))
                    if model.domains[d].pureOnly { t = snapDown(d, t) ?? t }
                    guard t > time[d] else { continue }
                    setTime(d, t)
                    if isFeasible {
                        let saving = before - power
                        var used = 1e-12
                        for q in domainQueues[d] where value[q] > values[q] {
                            used += (value[q] - values[q]) / max(1 - values[q], 1e-12)
                        }
                        let score = saving / used
                        if best == nil || score > best!.score { best = (score, d, t) }
                    }
                    rollback()
                }
                guard let chosen = best else { break }
                setTime(chosen.d, chosen.t)
                commit()
            }
        }
    }

    /// Pairwise slack trades: speed one domain up a little and relax another that shares a
    /// queue with it; keep the trade when host power falls. Equalises watts per slack.
    mutating func tradeSlack(_ domains: [Int]) {
        commit()
        guard budget > 0 else { return }
        guard domains.count > 1 else { return }
        for fraction in [1.0 / 16, 1.0 / 128] {
            var improved = true
            var rounds = 0
            while improved && rounds < 4 {
                improved = false
                rounds += 1
                for a in domains where !locked[a] {
                    for b in domains where b != a && sharesQueue(a, b) {
                        let before = power
                        let fastest = model.domains[a].fastest
                        guard time[a] > fastest else { continue }
                        var t = max(fastest, time[a] - fraction * (ceiling(a) - fastest))
                        if model.domains[a].pureOnly { t = model.domains[a].times.last { $0 > time[a] } ?? fastest }
                        setTime(a, t)
                        if relax(b) && isFeasible && power < before - 1e-12 * max(1, before) {
                            commit()
                            improved = true
                        } else {
                            rollback()
                        }
                    }
                }
            }
        }
    }

    /// Domains `a` and `b` serve a common queue.
    func sharesQueue(_ a: Int, _ b: Int) -> Bool {
        domainQueues[a].contains { domainQueues[b].contains($0) }
    }
}

extension PlanState {
    /// Whether domain `d` mixes two speeds (its level lies strictly inside a hull segment).
    func isMixing(_ d: Int) -> Bool {
        let p = model.mix(domain: d, time: time[d]).pHigh
        return p > 0 && p < 1
    }

    /// Domain `d` serves a queue that other domains serve too.
    func isCoupled(_ d: Int) -> Bool {
        domainQueues[d].contains { q in queueEntries[q].contains { model.cpuDomain[entryCPU[$0]] != d } }
    }

    /// The hull vertices just faster and just slower than domain `d`'s level.
    func neighbouringVertices(_ d: Int) -> [Double] {
        let times = model.domains[d].times
        let slower = times.filter { $0 > time[d] }.min()
        let faster = times.filter { $0 < time[d] }.max()
        return [faster, slower].compactMap { $0 }
    }
}
