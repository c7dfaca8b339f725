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
/// refined by golden section. The refinement takes each tail from those at the three scanned
/// shares around it (`log P` quadratic in the per-CPU rate) rather than evaluating it, and
/// the share it finds is evaluated exactly; tails are kept in the part's memo, so the search after a
/// dither fallback re-uses them.
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
    func bestPercentileSplit(memo: EvaluationMemo) -> (share: Double, times: PerClass)? {
        guard let quantile = queue.quantile else { return nil }
        // Aimed a hair short: the state's own arithmetic then finds the target met.
        let budget = (1 - quantile) * (1 - 1e-9)
        // Between scanned shares the tails are interpolated (`estimatedTail`); the share found
        // is then evaluated exactly.
        var scanned: ScannedTails?
        return cheapestShare(
            steps: Self.percentileScanSteps, refinements: Self.percentileRefinements, tolerance: 0,
            evaluate: { percentileLevels(share: $0, budget: budget, memo: memo) },
            estimate: { x, around in
                if scanned?.shares != around { scanned = ScannedTails(shares: around, solver: self) }
                return percentileLevels(share: x, budget: budget, memo: memo, scanned: scanned)?.power ?? .infinity
            })
    }

    /// The exact tails at the scanned shares around the golden-section search, as logarithms
    /// by class and hull vertex: every share the search tries interpolates between the same
    /// ones (`estimatedTail`), so each is looked up and its logarithm taken once per search.
    final class ScannedTails {
        /// The first class's scanned shares (the second's are `1 - share`).
        let shares: [Double]
        /// Per class: the per-CPU rates at those shares, and whether they are distinct (else
        /// no polynomial passes through them).
        let rates: [[Double]]
        let distinct: [Bool]
        /// Per class and vertex (fastest first): `log P` at each rate, once all are known.
        private var vertexLogs: [[[Double]?]]
        private let domains: [Int]

        init(shares: [Double], solver: SingleQueueSolver) {
            self.shares = shares
            rates = (0..<2).map { k in
                shares.map { share in (k == 0 ? share : 1 - share) * solver.queue.rate / solver.counts[k] }
            }
            distinct = rates.map { Set($0).count == $0.count }
            domains = solver.domains
            vertexLogs = solver.domains.map { [[Double]?](repeating: nil, count: solver.model.domains[$0].times.count) }
        }

        /// `log P` of class `k` at level `t` (vertex `vertex` when it is one) at each scanned
        /// rate; nil unless all are known, positive and finite. Only what is known is kept: a
        /// tail missing now may be evaluated later.
        func logs(_ k: Int, time t: Double, vertex: Int?, memo: EvaluationMemo) -> [Double]? {
            if let vertex, let known = vertexLogs[k][vertex] { return known }
            var logs: [Double] = []
            logs.reserveCapacity(rates[k].count)
            for rate in rates[k] {
                guard let p = memo.tails[.init(domain: domains[k], rate: rate, time: t)], p > 0, p.isFinite else { return nil }
                logs.append(Math.log(p))
            }
            if let vertex { vertexLogs[k][vertex] = logs }
            return logs
        }
    }

    /// The cheapest levels on chords for share `x` on the first class, with `Σ x_k g_k(t_k)`,
    /// or nil when no levels meet `budget` at that share.
    /// With `scanned` (the tails at the scanned shares around `x`), tails come from theirs by
    /// interpolation.
    func percentileLevels(share x: Double, budget: Double, memo: EvaluationMemo,
                          scanned: ScannedTails? = nil) -> (power: Double, times: PerClass)? {
        let shares = [x, 1 - x]
        var tables: [[TailPoint]] = [[], []]
        for k in 0..<2 where shares[k] > 0 {
            guard let table = tailTable(k, share: shares[k], budget: budget, memo: memo, scanned: scanned) else { return nil }
            tables[k] = table
        }
        let used = (0..<2).filter { shares[$0] > 0 }
        var best: (power: Double, times: PerClass)?
        func consider(_ power: Double, _ times: PerClass) {
            if best == nil || power < best!.power { best = (power, times) }
        }
        if used.count == 1 {
            let k = used[0]
            guard let point = fill(tables[k], class: k, budget: budget) else { return nil }
            var times = PerClass()
            times[k] = point.time
            consider(point.energy, times)
            return best
        }
        // One class on a point, the other on the slowest level the rest of the budget allows.
        for (fixed, filler) in [(0, 1), (1, 0)] {
            for point in tables[fixed] where point.tail <= budget {
                guard let other = fill(tables[filler], class: filler, budget: budget - point.tail) else { continue }
                var times = PerClass()
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
    func tailTable(_ k: Int, share s: Double, budget: Double, memo: EvaluationMemo,
                   scanned: ScannedTails? = nil) -> [TailPoint]? {
        let d = domains[k]
        let fastest = model.domains[d].fastest, pureOnly = model.domains[d].pureOnly
        let rate = s * queue.rate / counts[k], w = queue.work
        guard rate * w * fastest <= model.configuration.maxUtilization * (1 + 1e-12) else { return nil }
        let bound = model.configuration.maxUtilization / (rate * w) * (1 - 1e-12)
        let ceiling = max(fastest, min(model.domains[d].cheapest, bound))
        // Levels: the hull's vertices up to the ceiling, fastest first (the hull's times are
        // slowest first), at least the fastest; then the ceiling where the class may mix there.
        let times = model.domains[d].times
        var vertices = 0
        while vertices < times.count, times[times.count - 1 - vertices] <= ceiling * (1 + 1e-12) { vertices += 1 }
        let pure = max(vertices, 1)
        let count = !pureOnly && ceiling > times[times.count - pure] * (1 + 1e-12) ? pure + 1 : pure
        var table: [TailPoint] = []
        table.reserveCapacity(count)
        for index in 0..<count {
            let vertex = index < vertices ? index : nil
            let t = index < pure ? times[times.count - 1 - index] : ceiling
            let point = TailPoint(time: t, energy: s * model.marginalEnergy(domain: d, time: t),
                                  tail: s * (scanned.flatMap { estimatedTail(k, rate: rate, time: t, vertex: vertex, scanned: $0, memo: memo) }
                                      ?? tail(k, rate: rate, time: t, memo: memo)))
            table.append(point)
            if point.tail > budget { break }
        }
        return table
    }

    /// Class `k`'s tail at per-CPU rate `a` and level `t` (vertex `vertex` when it is one)
    /// interpolated between its tails at the `scanned` shares (two or three): `log P` by the
    /// polynomial through them in the per-CPU rate (near linear: an M/M/1 tail's decay is
    /// linear in the rate). Nil unless all are known, positive and finite.
    func estimatedTail(_ k: Int, rate a: Double, time t: Double, vertex: Int?, scanned: ScannedTails,
                       memo: EvaluationMemo) -> Double? {
        guard let logs = scanned.logs(k, time: t, vertex: vertex, memo: memo), scanned.distinct[k] else { return nil }
        let rates = scanned.rates[k]
        // Lagrange form.
        var value = 0.0
        for i in rates.indices {
            var weight = 1.0
            for j in rates.indices where j != i { weight *= (a - rates[j]) / (rates[i] - rates[j]) }
            value += weight * logs[i]
        }
        return Math.exp(value)
    }

    /// Per-CPU `P(T > deadline)` of class `k` at per-CPU rate `a` and level `t`, by the search's
    /// own arithmetic (`PlanState`); infinite at or above saturation.
    func tail(_ k: Int, rate a: Double, time t: Double, memo: EvaluationMemo) -> Double {
        let key = EvaluationMemo.TailKey(domain: domains[k], rate: a, time: t)
        if let known = memo.tails[key] { return known }
        let mix = model.mix(domain: domains[k], time: t)
        let w = queue.work, scv = queue.scv
        var value = Double.infinity
        if a * w * mix.timePerWork < 1 { value = Self.responseTail(queue.deadline, rate: a, work: w, scv: scv, mix: mix) }
        memo.storeTail(value, for: key)
        return value
    }

    /// The one or two service classes of a CPU that runs one stream at a speed mix, in order:
    /// a collection without a heap array, for the hundreds of tails a part's search evaluates.
    struct ServiceClasses: RandomAccessCollection {
        private var first = GammaService(rate: 0, shape: 1, scale: 1)
        private var second = GammaService(rate: 0, shape: 1, scale: 1)
        private(set) var endIndex = 0
        var startIndex: Int { 0 }

        subscript(position: Int) -> GammaService { position == 0 ? first : second }

        /// Appends `service`, or puts it before the one there (`first`); two at most.
        mutating func add(_ service: GammaService, first isFirst: Bool = false) {
            precondition(endIndex < 2, "a speed mix has two classes at most")
            if isFirst {
                second = first
                first = service
            } else if endIndex == 0 {
                first = service
            } else {
                second = service
            }
            endIndex += 1
        }
    }

    /// `WaitingTail(classes:).responseProbabilityExceeding(t, work:scv:mix:)` for one stream
    /// of per-CPU rate `a` on a CPU running `mix` (its one or two classes), by the same
    /// arithmetic in the same order, with one array instead of four and no `log Γ` beyond
    /// the classes' own: the solver evaluates it hundreds of times per part.
    static func responseTail(_ t: Double, rate a: Double, work w: Double, scv: Double, mix: SpeedMix) -> Double {
        let high = GammaService(rate: a * mix.pHigh, work: w, scv: scv, speed: mix.highSpeed)
        let low = GammaService(rate: a * (1 - mix.pHigh), work: w, scv: scv, speed: mix.lowSpeed)
        let hasHigh = mix.pHigh > 0 && high.rate > 0, hasLow = mix.pHigh < 1 && low.rate > 0
        var load = 0.0
        if hasHigh { load += high.load }
        if hasLow { load += low.load }
        guard load < 1 else { return 1 }
        // Descending scale, as `WaitingTail` orders them (a tie keeps the faster first).
        var ordered = ServiceClasses()
        if hasHigh { ordered.add(high) }
        if hasLow { ordered.add(low, first: hasHigh && high.scale < low.scale) }
        var first: CramerLundberg?, second: CramerLundberg?
        var start = 0
        while start < ordered.count {
            var subLoad = 0.0
            for index in start..<ordered.count { subLoad += ordered[index].load }
            let term = CramerLundberg.solve(classes: ordered, from: start)
            if let term { if first == nil { first = term } else { second = term } }
            if let term, term.coefficient >= WaitingTail.collapse * subLoad { break }
            let scale = ordered[start].scale
            while start < ordered.count && ordered[start].scale == scale { start += 1 }
        }
        // The request's own service: the classes at rates `p` and `1 - p` (same shape and scale).
        var ownHigh = high, ownLow = low
        ownHigh.rate = mix.pHigh
        ownLow.rate = 1 - mix.pHigh
        var own = 0.0
        if ownHigh.rate > 0 { own += ownHigh.rate * ownHigh.survival(t) }
        if ownLow.rate > 0 { own += ownLow.rate * ownLow.survival(t) }
        func wait(_ term: CramerLundberg) -> Double {
            var wait = 0.0
            if ownHigh.rate > 0 { wait += ownHigh.rate * ownHigh.convolvedWithExponential(decay: term.decay, at: t) }
            if ownLow.rate > 0 { wait += ownLow.rate * ownLow.convolvedWithExponential(decay: term.decay, at: t) }
            return term.coefficient * wait
        }
        var worstWait = 0.0
        if let first { worstWait = max(worstWait, wait(first)) }
        if let second { worstWait = max(worstWait, wait(second)) }
        return min(1, own + worstWait)
    }
}
