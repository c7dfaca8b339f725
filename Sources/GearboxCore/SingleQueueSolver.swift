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
/// classes are left to the general search (`Planner.search`).
struct SingleQueueSolver {
    let model: PlanningModel
    let queue: PlanningModel.Queue
    /// Per entry of the queue (in the order of its CPUs): the domain and CPU it is on, the CPUs
    /// it stands for (copies of the CPU in every copy of the domain), the least interior share.
    let domains: [Int]
    let cpus: [Int]
    let counts: [Double]
    let minimumShares: [Double]

    /// nil unless the model is one route queue on at most two domains (one CPU class each),
    /// with a mean target when there are two.
    init?(model: PlanningModel) {
        guard model.queues.count == 1, model.queues[0].isRoute, !model.queues[0].cpus.isEmpty else { return nil }
        let queue = model.queues[0]
        let domains = queue.cpus.map { model.cpuDomain[$0] }
        guard Set(domains).count == domains.count, domains.count <= 2 else { return nil }
        guard domains.count == 1 || (queue.quantile == nil && queue.rate > 0 && queue.work > 0) else { return nil }
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
            guard let best = bestSplit() else { return nil }
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
        } else {
            // Take up what rounding left of the target.
            for d in state.busyDomains { state.relax(d) }
        }
        state.commit()
        return state.isFeasible ? (state, true) : nil
    }

    // MARK: Two domains, mean target

    /// The share on the first domain and both levels of the cheapest plan found, or nil when
    /// no share meets the target.
    func bestSplit() -> (share: Double, times: [Double])? {
        let low = minimumShares[0], high = 1 - minimumShares[1]
        // Candidates: each domain alone, and a scan of the interior shares.
        var candidates: [Double] = [0, 1]
        let steps = 32
        if low < high {
            for k in 0...steps { candidates.append(low + (high - low) * Double(k) / Double(steps)) }
        }
        var best: (share: Double, power: Double, times: [Double])?
        var bestIndex = -1
        for (index, x) in candidates.enumerated() {
            guard let result = levels(share: x) else { continue }
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
            let ratio = (5.0.squareRoot() - 1) / 2
            func cost(_ x: Double) -> Double { levels(share: x)?.power ?? .infinity }
            var c = b - ratio * (b - a), d = a + ratio * (b - a)
            var fc = cost(c), fd = cost(d)
            for _ in 0..<40 where b - a > 1e-9 {
                if fc <= fd {
                    b = d; d = c; fd = fc
                    c = b - ratio * (b - a); fc = cost(c)
                } else {
                    a = c; c = d; fc = fd
                    d = a + ratio * (b - a); fd = cost(d)
                }
            }
            let x = fc <= fd ? c : d
            if let result = levels(share: x), result.power < found.power { found = (x, result.power, result.times) }
        }
        return (found.share, found.times)
    }

    /// The cheapest levels for share `x` on the first domain (`1 - x` on the second), with
    /// power per unit of the queue's work rate `λ w` (idle power left out), or nil when the
    /// target cannot be met at that share.
    func levels(share x: Double) -> (power: Double, times: [Double])? {
        let shares = [x, 1 - x]
        let used = shares.indices.filter { shares[$0] > 0 }
        // Per used entry: its per-CPU rate and the levels it may take.
        var rates: [Double] = [], ceilings: [Double] = []
        for k in used {
            let rate = shares[k] * queue.rate / counts[k]
            let d = domains[k], domain = model.domains[d]
            let bound = model.configuration.maxUtilization / (rate * queue.work) * (1 - 1e-12)
            var ceiling = max(domain.fastest, min(domain.cheapest, bound))
            if domain.pureOnly {
                guard let vertex = domain.times.first(where: { $0 <= ceiling * (1 + 1e-12) }) else { return nil }
                ceiling = vertex
            }
            // Even the fastest level overloads the CPU.
            guard rate * queue.work * domain.fastest <= model.configuration.maxUtilization * (1 + 1e-12) else { return nil }
            rates.append(rate)
            ceilings.append(ceiling)
        }
        let target = queue.target.seconds
        // Pure-speed domains try each vertex; the others follow the multiplier.
        let pure = used.indices.filter { model.domains[domains[used[$0]]].pureOnly }
        var choices: [[Double]] = [[]]
        for j in pure {
            let d = domains[used[j]]
            let vertices = model.domains[d].times.filter { $0 <= ceilings[j] * (1 + 1e-12) }
            choices = choices.flatMap { prefix in vertices.map { prefix + [$0] } }
        }
        var best: (power: Double, times: [Double])?
        for choice in choices {
            var times = [Double](repeating: 0, count: used.count)
            for (n, j) in pure.enumerated() { times[j] = choice[n] }
            guard let solved = lagrangian(used: used, shares: shares, rates: rates, ceilings: ceilings, fixed: Set(pure),
                                          times: times, target: target) else { continue }
            var power = 0.0
            for (j, k) in used.enumerated() { power += shares[k] * model.marginalEnergy(domain: domains[k], time: solved[j]) }
            if best == nil || power < best!.power { best = (power, solved) }
        }
        guard let best else { return nil }
        var times = [Double](repeating: 0, count: 2)
        for (j, k) in used.enumerated() { times[k] = best.times[j] }
        return (best.power, times)
    }

    /// Levels of the used entries not in `fixed` that minimise power with the mean at most
    /// `target`: each minimises `λ w g(t) + μ T(t)`, `μ` by bisection on its logarithm.
    func lagrangian(used: [Int], shares: [Double], rates: [Double], ceilings: [Double], fixed: Set<Int>,
                    times start: [Double], target: Double) -> [Double]? {
        var times = start
        func mean(_ times: [Double]) -> Double {
            var total = 0.0
            for (j, k) in used.enumerated() { total += shares[k] * response(domain: domains[k], rate: rates[j], time: times[j]) }
            return total
        }
        func levels(_ mu: Double) -> [Double] {
            var out = times
            for j in used.indices where !fixed.contains(j) {
                out[j] = minimiser(domain: domains[used[j]], rate: rates[j], ceiling: ceilings[j], mu: mu)
            }
            return out
        }
        let free = used.indices.filter { !fixed.contains($0) }
        // Race to idle everywhere meets the target: nothing to trade.
        for j in free { times[j] = ceilings[j] }
        if mean(times) <= target { return times }
        for j in free { times[j] = model.domains[domains[used[j]]].fastest }
        guard mean(times) <= target else { return nil }
        guard !free.isEmpty else { return times }
        // Bracket the multiplier: `lo` misses the target, `hi` meets it.
        var lo = 1.0, hi = 1.0
        if mean(levels(hi)) <= target {
            lo = hi / 16
            var rounds = 0
            while mean(levels(lo)) <= target, rounds < 64 { hi = lo; lo /= 16; rounds += 1 }
        } else {
            var rounds = 0
            repeat { lo = hi; hi *= 16; rounds += 1 } while mean(levels(hi)) > target && rounds < 64
            if mean(levels(hi)) > target { return times }
        }
        for _ in 0..<48 where hi > lo * (1 + 1e-10) {
            let middle = (lo * hi).squareRoot()
            if mean(levels(middle)) <= target { hi = middle } else { lo = middle }
        }
        return levels(hi)
    }

    /// Mean response on one CPU of domain `d` with per-CPU arrival rate `rate` at level `t`
    /// (as `PlanState` computes it).
    func response(domain d: Int, rate: Double, time t: Double) -> Double {
        let mix = model.mix(domain: d, time: t)
        let rho = rate * queue.work * mix.timePerWork
        guard rho < 1 else { return .infinity }
        return rate * mix.secondMomentService(work: queue.work, scv: queue.scv) / (2 * (1 - rho)) + queue.work * mix.timePerWork
    }

    /// The level in `[fastest, ceiling]` that minimises `λ w g(t) + μ T(t)` for domain `d`.
    /// On the hull segment between vertices `τ_{j+1} < τ_j`, `g` is linear with slope `σ_j`
    /// and `E[S²] = α + β t`, so `T' = w + K / (1 − a w t)²` with `K = a (β + a w α) / 2`,
    /// and the stationary point solves `(1 − a w t)² = K / (−λ w σ_j / μ − w)`. The sum is
    /// convex, so the first segment whose derivative turns positive holds the minimiser.
    func minimiser(domain d: Int, rate a: Double, ceiling: Double, mu: Double) -> Double {
        let domain = model.domains[d]
        let w = queue.work, scale = queue.rate * queue.work
        let moment = (1 + queue.scv) * w * w
        var j = domain.times.count - 2
        while j >= 0 {
            let fast = domain.times[j + 1], slow = domain.times[j]
            let right = min(slow, ceiling)
            guard fast < right else { return min(fast, ceiling) }
            let sigma = (domain.energies[j] - domain.energies[j + 1]) / (slow - fast) - domain.idle
            let beta = moment * (domain.squaredTimes[j] - domain.squaredTimes[j + 1]) / (slow - fast)
            let alpha = moment * domain.squaredTimes[j + 1] - beta * fast
            let k = a * (beta + a * w * alpha) / 2
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
        return min(domain.times[0], ceiling)
    }
}

extension Planner {
    /// The search of one part: the dedicated solver where it applies, else the general search.
    func searchPart(model: PlanningModel, memo: EvaluationMemo) -> (state: PlanState, feasible: Bool) {
        if configuration.singleQueueSolver, let solved = SingleQueueSolver(model: model)?.solve(memo: memo) { return solved }
        return search(model: model, memo: memo)
    }
}
