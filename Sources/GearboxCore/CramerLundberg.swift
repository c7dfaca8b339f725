/// The Cramér–Lundberg approximation of an FCFS waiting-time tail: `P(Wait > t) ≈ C e^{-η t}`.
public struct CramerLundberg: Hashable, Sendable {
    /// `η`, the positive root of `λ (M(η) - 1) = η`.
    public var decay: Double
    /// `C = (1 - ρ) / (λ M'(η) - 1)`.
    public var coefficient: Double

    public init(decay: Double, coefficient: Double) {
        self.decay = decay
        self.coefficient = coefficient
    }

    /// `P(Wait > t)` for `t ≥ 0`.
    public func probabilityExceeding(_ t: Double) -> Double { coefficient * Math.exp(-decay * max(0, t)) }

    /// The approximation for an M/G/1 FCFS queue fed by `classes`; nil when nothing arrives.
    /// Requires `ρ < 1`.
    public static func solve<C: Collection>(classes: C) -> CramerLundberg? where C.Element == GammaService {
        solve(classes: Array(classes), from: 0)
    }

    /// The approximation for the classes `classes[start...]`: an array, or the single-queue
    /// solver's `ServiceClasses` (the planner's hot paths; each gets its own specialisation).
    static func solve<Classes: RandomAccessCollection<GammaService>>(classes: Classes, from start: Int) -> CramerLundberg?
    where Classes.Index == Int {
        var rate = 0.0, load = 0.0, pole = Double.infinity
        for index in start..<classes.count {
            let c = classes[index]
            guard c.rate > 0 else { continue }
            rate += c.rate
            load += c.load
            pole = min(pole, 1 / c.scale)
        }
        guard rate > 0, load < 1 else { return nil }
        // f(η) = Σ λ_c (M_c(η) - 1) - η is convex on [0, pole) with f(0) = 0, f'(0) = ρ - 1 < 0
        // and f → ∞ at the pole: one positive root. Safeguarded Newton inside a bracket.
        var low = 0.0, high = pole
        // M/M/1 guess: η = μ (1 - ρ) with μ the pole.
        var eta = pole * (1 - load)
        if !(eta > 0 && eta < pole) { eta = pole / 2 }
        var slope = 0.0
        for _ in 0..<200 {
            var value = -eta
            slope = -1
            for index in start..<classes.count {
                let c = classes[index]
                guard c.rate > 0 else { continue }
                let base = 1 - eta * c.scale
                if c.shape == 1 {
                    let m = 1 / base
                    value += c.rate * (m - 1)
                    slope += c.rate * c.scale * m * m
                } else {
                    let m = Math.exp(-c.shape * Math.log(base))
                    value += c.rate * (m - 1)
                    slope += c.rate * c.shape * c.scale * m / base
                }
            }
            if value > 0 { high = eta } else { low = eta }
            var next = eta - value / slope
            if !(next > low && next < high) { next = low + (high - low) / 2 }
            if abs(next - eta) <= 1e-14 * eta || high - low <= 1e-15 * high {
                eta = next
                break
            }
            eta = next
        }
        // slope + 1 = λ M'(η), evaluated at the last iterate (the root to ~1e-14).
        let coefficient = (1 - load) / max(slope, 1e-300)
        return CramerLundberg(decay: eta, coefficient: min(coefficient, 1))
    }
}

/// The waiting-time tail of one CPU with the trap guard of docs/model.md.
///
/// When the longest-service class has a vanishing rate, the full mix's root jumps to that
/// class's pole and `C` collapses, so the tail forgets the other classes. Each sub-mixture
/// without the `j` longest-service classes has a smaller FCFS workload, hence its tail is a
/// lower estimate of the full one; the guard takes the largest of them all.
public struct WaitingTail: Hashable, Sendable {
    /// One CL approximation per sub-mixture (the full mix first).
    public var terms: [CramerLundberg]
    /// `ρ ≥ 1`: the wait is unbounded.
    public var saturated: Bool

    /// A sub-mixture's coefficient below this fraction of its load counts as collapsed, and
    /// the next sub-mixture (without its longest-service classes) is added to the guard.
    public static let collapse = 0.5

    public init(terms: [CramerLundberg], saturated: Bool) {
        self.terms = terms
        self.saturated = saturated
    }

    /// The guarded tail of a CPU fed by `classes`.
    public init(classes: [GammaService]) {
        var ordered: [GammaService] = []
        ordered.reserveCapacity(classes.count)
        var load = 0.0
        for c in classes where c.rate > 0 {
            load += c.load
            // Insertion by descending scale: the class with the largest scale sets the pole.
            var index = ordered.count
            while index > 0 && ordered[index - 1].scale < c.scale { index -= 1 }
            ordered.insert(c, at: index)
        }
        guard load < 1 else {
            self.init(terms: [], saturated: true)
            return
        }
        var terms: [CramerLundberg] = []
        terms.reserveCapacity(ordered.count)
        var start = 0
        while start < ordered.count {
            var subLoad = 0.0
            for index in start..<ordered.count { subLoad += ordered[index].load }
            let term = CramerLundberg.solve(classes: ordered, from: start)
            if let term { terms.append(term) }
            // The trap shows as a collapsed coefficient (C far below ρ, which it equals for
            // M/M/1). While the coefficient is healthy, the sub-mixtures without the longest
            // classes only carry less work and give lower tails, so they are not needed.
            if let term, term.coefficient >= WaitingTail.collapse * subLoad { break }
            // Drop the whole group that shares the longest scale.
            let scale = ordered[start].scale
            while start < ordered.count && ordered[start].scale == scale { start += 1 }
        }
        self.init(terms: terms, saturated: false)
    }

    /// The largest of the sub-mixture tails at `t`.
    public func probabilityExceeding(_ t: Double) -> Double {
        if saturated { return 1 }
        var worst = 0.0
        for term in terms { worst = max(worst, term.probabilityExceeding(t)) }
        return worst
    }

    /// `P(Wait + S > t)` for a request whose own service time is the mix of `service`
    /// (each class weighted by its rate): the largest over sub-mixtures of
    /// `P(S > t) + ∫_0^t C e^{-η (t-u)} f_S(u) du`.
    public func responseProbabilityExceeding<C: Collection>(_ t: Double, service: C) -> Double
    where C.Element == GammaService {
        responseProbabilityExceeding(t, service: Array(service))
    }

    /// `P(Wait + S > t)` for a request of mean work `work` run with the two-speed `mix`
    /// (the planner's hot path: no arrays).
    func responseProbabilityExceeding(_ t: Double, work: Double, scv: Double, mix: SpeedMix) -> Double {
        if saturated { return 1 }
        let high = GammaService(rate: mix.pHigh, work: work, scv: scv, speed: mix.highSpeed)
        let low = GammaService(rate: 1 - mix.pHigh, work: work, scv: scv, speed: mix.lowSpeed)
        var own = 0.0
        if high.rate > 0 { own += high.rate * high.survival(t) }
        if low.rate > 0 { own += low.rate * low.survival(t) }
        var worstWait = 0.0
        for term in terms {
            var wait = 0.0
            if high.rate > 0 { wait += high.rate * high.convolvedWithExponential(decay: term.decay, at: t) }
            if low.rate > 0 { wait += low.rate * low.convolvedWithExponential(decay: term.decay, at: t) }
            worstWait = max(worstWait, term.coefficient * wait)
        }
        return min(1, own + worstWait)
    }

    /// `P(Wait + S > t)` for a service mix given as an array (non-generic: the hot path).
    public func responseProbabilityExceeding(_ t: Double, service: [GammaService]) -> Double {
        if saturated { return 1 }
        var total = 0.0, own = 0.0
        for c in service where c.rate > 0 {
            total += c.rate
            own += c.rate * c.survival(t)
        }
        guard total > 0 else { return 0 }
        var worstWait = 0.0
        for term in terms {
            var wait = 0.0
            for c in service where c.rate > 0 {
                wait += c.rate * c.convolvedWithExponential(decay: term.decay, at: t)
            }
            worstWait = max(worstWait, term.coefficient * wait)
        }
        return min(1, (own + worstWait) / total)
    }
}
