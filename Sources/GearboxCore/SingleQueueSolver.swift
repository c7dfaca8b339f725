/// A dedicated solver for a part of the host that carries one route queue over at most two
/// classes of domains (docs/model.md, "The optimisation": one route queue).
///
/// Every CPU a single queue may use in a domain carries the same share (latency is convex in
/// load), so the plan is one share and one level per domain class. With one class the level
/// is the slowest feasible one up to the cheapest vertex (`PlanState.relax`), exactly.
///
/// With two classes and a mean target, the mean is `Σ_d x_d T_d(t_d)` with the per-CPU M/G/1
/// mean `T_d`, and power is `λ w Σ_d x_d g_d(t_d)` plus idle power. For a fixed share the
/// problem is convex (`g_d` convex piecewise linear, `T_d` convex in `t_d`), so its levels are
/// those of the Lagrangian: each domain minimises `λ w g_d(t) + μ T_d(t)` (in closed form on
/// each hull segment), with the multiplier `μ`, watts per second of latency, found by bisection
/// so that the target holds. A domain that runs pure speeds only tries each vertex instead.
/// The share is found by a scan and a golden-section search. Percentile targets over two
/// classes take the tables of `SingleQueueSolver+Percentile.swift`.
struct SingleQueueSolver {
    let model: PlanningModel
    let queue: PlanningModel.Queue
    /// Per entry of the queue (in the order of its CPUs): the domain and CPU it is on, the CPUs
    /// it stands for (copies of the CPU in every copy of the domain), the least interior share.
    let domains: [Int]
    let cpus: [Int]
    let counts: [Double]
    let minimumShares: [Double]

    /// One value per class of the part, the first class's then the second's: the searches
    /// below handle a pair of levels per share hundreds of times, and a pair needs no heap.
    typealias PerClass = SIMD2<Double>

    /// nil unless the model is one route queue on at most two domains (one CPU class each),
    /// merged classes when there are two and the target is a percentile.
    init?(model: PlanningModel) {
        guard model.queues.count == 1, model.queues[0].isRoute, !model.queues[0].cpus.isEmpty else { return nil }
        let queue = model.queues[0]
        let domains = queue.cpus.map { model.cpuDomain[$0] }
        guard Set(domains).count == domains.count, domains.count <= 2 else { return nil }
        guard domains.count == 1 || (queue.rate > 0 && queue.work > 0) else { return nil }
        // Percentiles over two classes: on merged classes (large hosts), where the general
        // search is dear; on small hosts its chords are coarse and the general search is cheap.
        guard domains.count == 1 || queue.quantile == nil || domains.allSatisfy({ model.domains[$0].multiplicity > 1 }) else {
            return nil
        }
        self.model = model
        self.queue = queue
        self.domains = domains
        cpus = queue.cpus
        counts = queue.cpus.map { Double(model.domains[model.cpuDomain[$0]].multiplicity * model.cpuCopies[$0]) }
        minimumShares = counts.map { model.configuration.minimumShare * $0 }
    }

    /// The plan of the part, or nil where this solver finds none (the general search then
    /// decides, including the best infeasible plan).
    func solve(memo: EvaluationMemo) -> (state: PlanState, feasible: Bool)? {
        var shares = [Double](repeating: 0, count: cpus.count)
        var times = model.domains.map(\.slowest)
        if cpus.count == 2 {
            guard let best = queue.quantile == nil ? bestSplit() : bestPercentileSplit(memo: memo) else { return nil }
            shares = [best.share, 1 - best.share]
            for (k, d) in domains.enumerated() where shares[k] > 0 { times[d] = best.times[k] }
        } else {
            shares[0] = 1
            times[domains[0]] = model.domains[domains[0]].fastest
        }
        var state = PlanState(model: model, time: times, entryShares: shares, memo: memo)
        if cpus.count == 1 {
            guard state.isFeasible else { return nil }
            state.relax(domains[0])
        } else if !state.isFeasible {
            // Rounding between this solver's arithmetic and the state's: choose levels anew.
            guard state.chooseLevels() else { return nil }
        } else if state.value[0] >= 1 - Self.nothingToTakeUp {
            // The levels already reach the target: relaxing them (a dozen evaluations per
            // domain) could move them by no more than this.
        } else if queue.quantile != nil {
            // Take up what the chords left of the target: the mixing class, else the slower.
            let order = state.busyDomains.sorted { a, b in
                let mixes = [a, b].map { !model.domains[$0].times.contains(state.time[$0]) }
                return mixes[0] != mixes[1] ? mixes[0] : a < b
            }
            for d in order { state.relax(d) }
        } else {
            // Take up what rounding left of the target.
            for d in state.busyDomains { state.relax(d) }
        }
        state.commit()
        return state.isFeasible ? (state, true) : nil
    }

    /// A plan whose queue is within this fraction of its target is not relaxed further.
    static let nothingToTakeUp = 1e-7

    // MARK: Two domains, mean target

    /// Domain `k`'s hull as flat arrays for the closed forms: per vertex (slowest first) `t`,
    /// and per segment `j` (between vertices `j + 1` and `j`) the slope of `g`, and `E[S²]`
    /// as `α + β t`. A class, so that the inner loops pass one reference, not five arrays.
    final class Segments {
        let times: [Double]
        let energy: [Double]
        let slope: [Double]
        let alpha: [Double]
        let beta: [Double]
        let fastest: Double
        let cheapest: Double
        let pureOnly: Bool

        init(_ domain: PlanningModel.Domain, moment: Double) {
            let times = domain.times
            let energy = zip(domain.energies, domain.times).map { $0 - domain.idle * $1 }
            var slope: [Double] = [], alpha: [Double] = [], beta: [Double] = []
            for j in 0..<max(0, times.count - 1) {
                let width = times[j] - times[j + 1]
                slope.append((energy[j] - energy[j + 1]) / width)
                let b = moment * (domain.squaredTimes[j] - domain.squaredTimes[j + 1]) / width
                beta.append(b)
                alpha.append(moment * domain.squaredTimes[j + 1] - b * times[j + 1])
            }
            self.times = times
            self.energy = energy
            self.slope = slope
            self.alpha = alpha
            self.beta = beta
            fastest = domain.fastest
            cheapest = domain.cheapest
            pureOnly = domain.pureOnly
        }

        /// The segment holding `t` (at a vertex, the faster one: both give the same values there).
        func segment(_ t: Double) -> Int {
            var j = times.count - 2
            while j > 0 && times[j] < t { j -= 1 }
            return j
        }

        /// `g(t)`: busy-minus-idle energy per work.
        func marginal(_ t: Double) -> Double {
            guard times.count > 1 else { return energy[0] }
            let j = segment(t)
            return energy[j + 1] + slope[j] * (t - times[j + 1])
        }

        /// Mean response with per-CPU rate `a` and work `w` at level `t`.
        func response(rate a: Double, work w: Double, moment: Double, time t: Double) -> Double {
            let rho = a * w * t
            guard rho < 1 else { return .infinity }
            var second = moment * t * t
            if times.count > 1 {
                let j = segment(t)
                second = alpha[j] + beta[j] * t
            }
            return a * second / (2 * (1 - rho)) + w * t
        }
    }

    /// The interior shares of the first class that leave both classes their least shares; all
    /// of them when the classes are too large for both to have it (as `PlanState.dropSmallShares`
    /// keeps every share when it would drop them all).
    var shareBracket: (low: Double, high: Double) {
        let low = minimumShares[0], high = 1 - minimumShares[1]
        if low < high { return (low, high) }
        let step = 1 / Double(2 * Self.shareScanSteps)
        return (step, 1 - step)
    }

    /// Interior shares scanned before the golden-section search.
    static let shareScanSteps = 16

    /// The share on the first domain and both levels of the cheapest plan found, or nil when
    /// no share meets the target.
    func bestSplit() -> (share: Double, times: PerClass)? {
        let moment = (1 + queue.scv) * queue.work * queue.work
        let hulls = domains.map { Segments(model.domains[$0], moment: moment) }
        var multiplier = 1.0
        return cheapestShare(
            steps: Self.shareScanSteps, refinements: 40, tolerance: 1e-7,
            evaluate: { levels(share: $0, hulls: hulls, multiplier: &multiplier) },
            estimate: { x, _ in levels(share: x, hulls: hulls, multiplier: &multiplier)?.power ?? .infinity })
    }

    /// The cheapest share on the first domain and both levels there, or nil when no share
    /// meets the target. Candidates: each domain alone, and `steps + 1` interior shares of
    /// `shareBracket`; then a golden-section search between the neighbours of the best
    /// interior one (at most `refinements` steps, or until the interval is `tolerance` of the
    /// share), its costs from `estimate` (given the scanned shares around, it may interpolate);
    /// the share it ends on is kept when `evaluate` finds it cheaper than the scan's best.
    /// Both are called in this order, so that an evaluation may carry state to the next.
    func cheapestShare(
        steps: Int, refinements: Int, tolerance: Double,
        evaluate: (Double) -> (power: Double, times: PerClass)?,
        estimate: (_ share: Double, _ scannedAround: [Double]) -> Double
    ) -> (share: Double, times: PerClass)? {
        let (low, high) = shareBracket
        var candidates: [Double] = [0, 1]
        if low < high {
            for k in 0...steps { candidates.append(low + (high - low) * Double(k) / Double(steps)) }
        }
        var best: (share: Double, power: Double, times: PerClass)?
        var bestIndex = -1
        for (index, x) in candidates.enumerated() {
            guard let result = evaluate(x) else { continue }
            if best == nil || result.power < best!.power {
                best = (x, result.power, result.times)
                bestIndex = index
            }
        }
        guard var found = best else { return nil }
        // Golden-section search in the scan's bracket around the best interior share.
        if bestIndex >= 2 {
            let k = bestIndex - 2
            var a = low + (high - low) * Double(max(0, k - 1)) / Double(steps)
            var b = low + (high - low) * Double(min(steps, k + 1)) / Double(steps)
            let around = (max(0, k - 1)...min(steps, k + 1)).map { low + (high - low) * Double($0) / Double(steps) }
            let ratio = (5.0.squareRoot() - 1) / 2
            var c = b - ratio * (b - a), d = a + ratio * (b - a)
            var fc = estimate(c, around), fd = estimate(d, around)
            for _ in 0..<refinements where b - a > tolerance * max(b, 1e-3) {
                if fc <= fd {
                    b = d; d = c; fd = fc
                    c = b - ratio * (b - a); fc = estimate(c, around)
                } else {
                    a = c; c = d; fc = fd
                    d = a + ratio * (b - a); fd = estimate(d, around)
                }
            }
            let x = fc <= fd ? c : d
            if let result = evaluate(x), result.power < found.power {
                found = (x, result.power, result.times)
            }
        }
        return (found.share, found.times)
    }

    /// The cheapest levels for share `x` on the first domain (`1 - x` on the second), with
    /// `Σ x_d g_d(t_d)` (power over `λ w`, idle power left out), or nil when the target cannot
    /// be met at that share. `multiplier`: the last multiplier, where the bracket starts.
    func levels(share x: Double, hulls: [Segments], multiplier: inout Double) -> (power: Double, times: PerClass)? {
        let shares = PerClass(x, 1 - x)
        let w = queue.work, moment = (1 + queue.scv) * w * w
        guard let (rates, ceilings, fastest) = classBounds(shares: shares, hulls: hulls) else { return nil }
        // Aimed a hair short: the state's own arithmetic then finds the target met.
        let target = queue.target.seconds * (1 - 1e-9)
        func mean(_ t: PerClass) -> Double {
            var total = 0.0
            for k in 0..<2 where shares[k] > 0 {
                total += shares[k] * hulls[k].response(rate: rates[k], work: w, moment: moment, time: t[k])
            }
            return total
        }
        func power(_ t: PerClass) -> Double {
            var total = 0.0
            for k in 0..<2 where shares[k] > 0 { total += shares[k] * hulls[k].marginal(t[k]) }
            return total
        }
        // Race to idle everywhere meets the target: nothing to trade.
        if mean(ceilings) <= target { return (power(ceilings), ceilings) }
        guard mean(fastest) <= target else { return nil }
        let free = Self.classes { shares[$0] > 0 && !hulls[$0].pureOnly }
        let pure = Self.classes { shares[$0] > 0 && hulls[$0].pureOnly }
        if pure.count == 2 { return bestVertices(shares: shares, rates: rates, ceilings: ceilings, hulls: hulls, target: target) }
        // A pure-speed domain tries each vertex; the other follows the multiplier.
        var best: (power: Double, times: PerClass)?
        let vertices = pure.first.map { k in hulls[k].times.filter { $0 <= ceilings[k] * (1 + 1e-12) } } ?? [0]
        // No level of the free domain costs less than its cheapest point in `[fastest, ceiling]`
        // (a vertex or an end: `g` is piecewise linear): a vertex of the pure one that cannot
        // beat the best so far even with it is skipped without a search.
        var freeFloor = 0.0
        if pure.count == 1 {
            for k in free {
                var least = min(hulls[k].marginal(fastest[k]), hulls[k].marginal(ceilings[k]))
                for t in hulls[k].times where t > fastest[k] && t < ceilings[k] { least = min(least, hulls[k].marginal(t)) }
                freeFloor += shares[k] * least
            }
        }
        for vertex in vertices {
            var choice = fastest
            if let k = pure.first {
                choice[k] = vertex
                if let best, shares[k] * hulls[k].marginal(vertex) + freeFloor > best.power * (1 + 1e-12) { continue }
            }
            guard mean(choice) <= target else { continue }
            let times = free.isEmpty ? choice
                : lagrangian(free: free, shares: shares, start: choice, rates: rates, ceilings: ceilings, hulls: hulls,
                             multiplier: &multiplier, mean: mean, target: target)
            let p = power(times)
            if best == nil || p < best!.power { best = (p, times) }
        }
        return best
    }

    /// Per class with a share: its per-CPU rate, its fastest level and its ceiling (the slowest
    /// worth running: the cheapest vertex or the utilisation bound); nil when even the fastest
    /// level overloads a CPU.
    func classBounds(shares: PerClass, hulls: [Segments]) -> (rates: PerClass, ceilings: PerClass, fastest: PerClass)? {
        let w = queue.work
        var rates = PerClass(), ceilings = PerClass(), fastest = PerClass()
        for k in 0..<2 where shares[k] > 0 {
            let rate = shares[k] * queue.rate / counts[k]
            let hull = hulls[k]
            guard rate * w * hull.fastest <= model.configuration.maxUtilization * (1 + 1e-12) else { return nil }
            let bound = model.configuration.maxUtilization / (rate * w) * (1 - 1e-12)
            var ceiling = max(hull.fastest, min(hull.cheapest, bound))
            if hull.pureOnly { ceiling = hull.times.first { $0 <= ceiling * (1 + 1e-12) } ?? hull.fastest }
            rates[k] = rate
            ceilings[k] = ceiling
            fastest[k] = hull.fastest
        }
        return (rates, ceilings, fastest)
    }

    /// The classes (0, 1) for which `include` holds, as array literals, which need no heap:
    /// this runs for every share tried.
    static func classes(where include: (Int) -> Bool) -> [Int] {
        switch (include(0), include(1)) {
        case (true, true): [0, 1]
        case (true, false): [0]
        case (false, true): [1]
        case (false, false): []
        }
    }

    /// Both domains on pure speeds: for each vertex of the first (fastest first), the slowest
    /// vertex of the second that keeps the mean within `target` (slower is cheaper up to the
    /// ceiling, and the one allowed only gets faster as the first slows).
    func bestVertices(shares: PerClass, rates: PerClass, ceilings: PerClass, hulls: [Segments],
                      target: Double) -> (power: Double, times: PerClass)? {
        let w = queue.work, moment = (1 + queue.scv) * w * w
        func table(_ k: Int) -> [(t: Double, mean: Double, power: Double)] {
            hulls[k].times.reversed().filter { $0 <= ceilings[k] * (1 + 1e-12) }.map {
                ($0, shares[k] * hulls[k].response(rate: rates[k], work: w, moment: moment, time: $0), shares[k] * hulls[k].marginal($0))
            }
        }
        let a = table(0), b = table(1)
        var best: (power: Double, times: PerClass)?
        var j = b.count - 1
        for first in a {
            while j >= 0 && first.mean + b[j].mean > target { j -= 1 }
            guard j >= 0 else { break }
            let p = first.power + b[j].power
            if best == nil || p < best!.power { best = (p, PerClass(first.t, b[j].t)) }
        }
        return best
    }

    /// Levels of the `free` domains (the others as in `start`, which meets the target) that
    /// minimise power with the mean at most `target`: each minimises `λ w g(t) + μ T(t)`, `μ`
    /// by Illinois regula falsi on its logarithm.
    func lagrangian(free: [Int], shares: PerClass, start: PerClass, rates: PerClass, ceilings: PerClass, hulls: [Segments],
                    multiplier: inout Double, mean: (PerClass) -> Double, target: Double) -> PerClass {
        func levels(_ mu: Double) -> PerClass {
            var out = start
            for k in free { out[k] = minimiser(hulls[k], rate: rates[k], ceiling: ceilings[k], mu: mu) }
            return out
        }
        var relaxed = start
        for k in free { relaxed[k] = ceilings[k] }
        if mean(relaxed) <= target { return relaxed }
        if free.count == 1 {
            let k = free[0]
            return slowestMeeting(k, share: shares[k], start: start, ceiling: ceilings[k], rate: rates[k], hull: hulls[k],
                                  mean: mean, target: target)
        }
        // Bracket: at `lo` the target is missed, at `hi` met (log scale).
        var hi = Math.log(max(multiplier, 1e-300)), lo = hi
        var hiValue = mean(levels(Math.exp(hi))) - target, loValue = hiValue
        var rounds = 0
        if hiValue <= 0 {
            repeat { hi = lo; hiValue = loValue; lo -= 2; loValue = mean(levels(Math.exp(lo))) - target; rounds += 1 }
                while loValue <= 0 && rounds < 400
            if loValue <= 0 { return levels(Math.exp(lo)) }
        } else {
            repeat { lo = hi; loValue = hiValue; hi += 2; hiValue = mean(levels(Math.exp(hi))) - target; rounds += 1 }
                while hiValue > 0 && rounds < 400
            if hiValue > 0 { return start }
        }
        var side = 0
        for _ in 0..<60 {
            if hi - lo < 1e-12 || -hiValue <= 1e-10 * target { break }
            var u = hi - hiValue * (hi - lo) / (hiValue - loValue)
            if !(u > lo && u < hi) { u = (lo + hi) / 2 }
            let value = mean(levels(Math.exp(u))) - target
            if value <= 0 {
                hi = u; hiValue = value
                if side == 1 { loValue /= 2 }
                side = 1
            } else {
                lo = u; loValue = value
                if side == -1 { hiValue /= 2 }
                side = -1
            }
        }
        multiplier = Math.exp(hi)
        return levels(Math.exp(hi))
    }

    /// With one domain free, its cheapest level is the slowest that keeps the mean within
    /// `target` (`start`, which meets it, holds the others). The mean grows with `t`; on the
    /// hull segment that holds the answer, the class's mean `T(t) = R` with `E[S²] = α + β t`
    /// is the quadratic `2 a w² t² - (a β + 2 w + 2 R a w) t + (2 R - a α) = 0`, whose smaller
    /// root it is (the larger lies beyond saturation).
    func slowestMeeting(_ k: Int, share x: Double, start: PerClass, ceiling: Double, rate a: Double, hull: Segments,
                        mean: (PerClass) -> Double, target: Double) -> PerClass {
        var levels = start
        guard hull.times.count > 1, x > 0 else { return levels }
        let w = queue.work, moment = (1 + queue.scv) * w * w
        let others = mean(start) - x * hull.response(rate: a, work: w, moment: moment, time: start[k])
        let r = (target - others) / x
        var t = ceiling
        // The segment holds the first vertex (or the ceiling) where the class's mean exceeds `r`.
        var j = hull.times.count - 2
        while j >= 0 {
            let right = min(hull.times[j], ceiling)
            if hull.response(rate: a, work: w, moment: moment, time: right) > r {
                let qa = 2 * a * w * w, qb = a * hull.beta[j] + 2 * w + 2 * r * a * w, qc = 2 * r - a * hull.alpha[j]
                let discriminant = qb * qb - 4 * qa * qc
                t = discriminant >= 0 ? 2 * qc / (qb + discriminant.squareRoot()) : hull.times[j + 1]
                t = min(max(t, hull.times[j + 1], start[k]), right)
                break
            }
            if right >= ceiling { break }
            j -= 1
        }
        levels[k] = t
        // Rounding can leave the root a few ulps beyond the target: step back, doubling.
        var step = 1e-14 * (levels[k] - start[k])
        while mean(levels) > target && levels[k] > start[k] {
            levels[k] = max(start[k], levels[k] - step)
            step *= 2
        }
        return levels
    }

    /// The level in `[fastest, ceiling]` that minimises `λ w g(t) + μ T(t)` with per-CPU rate `a`.
    /// On the hull segment between vertices `τ_{j+1} < τ_j`, `g` is linear with slope `σ_j`
    /// and `E[S²] = α + β t`, so `T' = w + K / (1 − a w t)²` with `K = a (β + a w α) / 2`,
    /// and the stationary point solves `(1 − a w t)² = K / (−λ w σ_j / μ − w)`. The sum is
    /// convex, so the first segment whose derivative turns positive holds the minimiser.
    func minimiser(_ hull: Segments, rate a: Double, ceiling: Double, mu: Double) -> Double {
        let w = queue.work, scale = queue.rate * queue.work
        var j = hull.times.count - 2
        while j >= 0 {
            let fast = hull.times[j + 1], right = min(hull.times[j], ceiling)
            guard fast < right else { return min(fast, ceiling) }
            let sigma = hull.slope[j]
            let k = a * (hull.beta[j] + a * w * hull.alpha[j]) / 2
            func slope(_ t: Double) -> Double {
                let idle = 1 - a * w * t
                return scale * sigma + mu * (w + k / (idle * idle))
            }
            if slope(fast) >= 0 { return fast }
            if slope(right) <= 0 {
                if right >= ceiling { return ceiling }
                j -= 1
                continue
            }
            let r = -scale * sigma / mu - w
            guard r > 0, a > 0 else { return fast }
            let t = (1 - (k / r).squareRoot()) / (a * w)
            return min(max(t, fast), right)
        }
        return min(hull.times[0], ceiling)
    }
}

extension Planner {
    /// The search of one part: the dedicated solver where it applies, else the general search.
    func searchPart(model: PlanningModel, memo: EvaluationMemo) -> (state: PlanState, feasible: Bool) {
        if configuration.singleQueueSolver, let solved = SingleQueueSolver(model: model)?.solve(memo: memo) { return solved }
        return search(model: model, memo: memo)
    }
}
