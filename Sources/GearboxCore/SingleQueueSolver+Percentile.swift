/// One route queue with a percentile target over two classes of domains (docs/model.md,
/// "Parts with one route queue").
///
/// The target holds when `Σ_k x_k P_k(t_k) ≤ 1 - α`, with `P_k` the per-CPU tail at the
/// deadline, and power is `λ w Σ_k x_k g_k(t_k)` plus idle power. The tail has no closed
/// form, so every level tried is an evaluation. For a share, each class's tail is evaluated
/// at its hull vertices up to its ceiling (and the ceiling itself where it may mix), fastest
/// first, until the class alone exceeds the budget; between two such points the tail is taken
/// on the chord (above the tail, which is convex in `t`, so the plan errs on the safe side and
/// the final relaxation takes up the difference). On chords the problem is a linear programme
/// with one constraint: its optimum has at most one class between two points, so trying each
/// point of one class with the other at the slowest point (or chord point) the rest of the
/// budget allows finds it, and pure-speed classes only take points. The share is scanned and
/// refined by golden section; tails are kept in the part's memo, so the search after a dither
/// fallback re-uses them.
extension SingleQueueSolver {
    /// A level worth trying for one class at one share: `t`, `x g(t)` and `x P(t)`.
    struct TailPoint {
        var time: Double
        var energy: Double
        var tail: Double
    }

    /// Shares scanned between the minimum shares, and golden-section steps after the scan.
    static let percentileScanSteps = 8
    static let percentileRefinements = 8

    /// The share on the first class and both levels of the cheapest plan found, or nil when
    /// no share meets the target.
    func bestPercentileSplit(memo: EvaluationMemo) -> (share: Double, times: [Double])? {
        guard let quantile = queue.quantile else { return nil }
        // Aimed a hair short: the state's own arithmetic then finds the target met.
        let budget = (1 - quantile) * (1 - 1e-9)
        let (low, high) = shareBracket
        var candidates: [Double] = [0, 1]
        let steps = Self.percentileScanSteps
        if low < high {
            for k in 0...steps { candidates.append(low + (high - low) * Double(k) / Double(steps)) }
        }
        var best: (share: Double, power: Double, times: [Double])?
        var bestIndex = -1
        for (index, x) in candidates.enumerated() {
            guard let result = percentileLevels(share: x, budget: budget, memo: memo) else { continue }
            if best == nil || result.power < best!.power {
                best = (x, result.power, result.times)
                bestIndex = index
            }
        }
        guard var found = best else { return nil }
        if bestIndex >= 2 {
            let k = bestIndex - 2
            var a = low + (high - low) * Double(max(0, k - 1)) / Double(steps)
            var b = low + (high - low) * Double(min(steps, k + 1)) / Double(steps)
            let ratio = (5.0.squareRoot() - 1) / 2
            var results: [(share: Double, power: Double, times: [Double])] = []
            func cost(_ x: Double) -> Double {
                guard let result = percentileLevels(share: x, budget: budget, memo: memo) else { return .infinity }
                results.append((x, result.power, result.times))
                return result.power
            }
            var c = b - ratio * (b - a), d = a + ratio * (b - a)
            var fc = cost(c), fd = cost(d)
            for _ in 0..<Self.percentileRefinements {
                if fc <= fd {
                    b = d; d = c; fd = fc
                    c = b - ratio * (b - a); fc = cost(c)
                } else {
                    a = c; c = d; fc = fd
                    d = a + ratio * (b - a); fd = cost(d)
                }
            }
            for result in results where result.power < found.power { found = result }
        }
        return (found.share, found.times)
    }

    /// The cheapest levels on chords for share `x` on the first class, with `Σ x_k g_k(t_k)`,
    /// or nil when no levels meet `budget` at that share.
    func percentileLevels(share x: Double, budget: Double, memo: EvaluationMemo) -> (power: Double, times: [Double])? {
        let shares = [x, 1 - x]
        var tables: [[TailPoint]] = [[], []]
        for k in 0..<2 where shares[k] > 0 {
            guard let table = tailTable(k, share: shares[k], budget: budget, memo: memo) else { return nil }
            tables[k] = table
        }
        let used = (0..<2).filter { shares[$0] > 0 }
        var best: (power: Double, times: [Double])?
        func consider(_ power: Double, _ times: [Double]) {
            if best == nil || power < best!.power { best = (power, times) }
        }
        if used.count == 1 {
            let k = used[0]
            guard let point = fill(tables[k], class: k, budget: budget) else { return nil }
            var times = [0.0, 0.0]
            times[k] = point.time
            consider(point.energy, times)
            return best
        }
        // One class on a point, the other on the slowest level the rest of the budget allows.
        for (fixed, filler) in [(0, 1), (1, 0)] {
            for point in tables[fixed] where point.tail <= budget {
                guard let other = fill(tables[filler], class: filler, budget: budget - point.tail) else { continue }
                var times = [0.0, 0.0]
                times[fixed] = point.time
                times[filler] = other.time
                consider(point.energy + other.energy, times)
            }
        }
        return best
    }

    /// The slowest level of `table` whose tail (on the chord between points) is at most
    /// `budget`: a point, or a mix between two for a class that may mix.
    func fill(_ table: [TailPoint], class k: Int, budget: Double) -> TailPoint? {
        guard let j = table.lastIndex(where: { $0.tail <= budget }) else { return nil }
        let point = table[j]
        guard j + 1 < table.count, !model.domains[domains[k]].pureOnly else { return point }
        let next = table[j + 1]
        guard next.tail > point.tail else { return point }
        let f = (budget - point.tail) / (next.tail - point.tail)
        return TailPoint(time: point.time + f * (next.time - point.time), energy: point.energy + f * (next.energy - point.energy),
                         tail: budget)
    }

    /// Class `k`'s levels at share `s`, fastest first: its hull vertices up to its ceiling
    /// (the cheapest vertex or the utilisation bound) and the ceiling itself where the class
    /// may mix, up to and including the first whose tail alone exceeds `budget`. Nil when even
    /// the fastest level overloads the CPU.
    func tailTable(_ k: Int, share s: Double, budget: Double, memo: EvaluationMemo) -> [TailPoint]? {
        let d = domains[k]
        let domain = model.domains[d]
        let rate = s * queue.rate / counts[k], w = queue.work
        guard rate * w * domain.fastest <= model.configuration.maxUtilization * (1 + 1e-12) else { return nil }
        let bound = model.configuration.maxUtilization / (rate * w) * (1 - 1e-12)
        let ceiling = max(domain.fastest, min(domain.cheapest, bound))
        var levels = model.vertices(domain: d).filter { $0 <= ceiling * (1 + 1e-12) }
        if levels.isEmpty { levels = [domain.fastest] }
        if !domain.pureOnly, let last = levels.last, ceiling > last * (1 + 1e-12) { levels.append(ceiling) }
        var table: [TailPoint] = []
        table.reserveCapacity(levels.count)
        for t in levels {
            let point = TailPoint(time: t, energy: s * model.marginalEnergy(domain: d, time: t),
                                  tail: s * tail(k, rate: rate, time: t, memo: memo))
            table.append(point)
            if point.tail > budget { break }
        }
        return table
    }

    /// Per-CPU `P(T > deadline)` of class `k` at per-CPU rate `a` and level `t`, by the search's
    /// own arithmetic (`PlanState`); infinite at or above saturation.
    func tail(_ k: Int, rate a: Double, time t: Double, memo: EvaluationMemo) -> Double {
        let key = EvaluationMemo.TailKey(domain: domains[k], rate: a, time: t)
        if let known = memo.tails[key] { return known }
        let mix = model.mix(domain: domains[k], time: t)
        let w = queue.work, scv = queue.scv
        var value = Double.infinity
        if a * w * mix.timePerWork < 1 {
            var classes: [GammaService] = []
            classes.reserveCapacity(2)
            if mix.pHigh > 0 { classes.append(GammaService(rate: a * mix.pHigh, work: w, scv: scv, speed: mix.highSpeed)) }
            if mix.pHigh < 1 { classes.append(GammaService(rate: a * (1 - mix.pHigh), work: w, scv: scv, speed: mix.lowSpeed)) }
            value = WaitingTail(classes: classes).responseProbabilityExceeding(queue.deadline, work: w, scv: scv, mix: mix)
        }
        memo.storeTail(value, for: key)
        return value
    }
}
