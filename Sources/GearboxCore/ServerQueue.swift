/// One CPU as a multi-class M/G/1 FCFS queue (docs/model.md, "Mean latency, route mode").
public struct ServerQueue: Hashable, Sendable {
    /// Every class that arrives at the CPU (per queue and per speed of the two-speed mix).
    public var classes: [GammaService]

    public init(classes: [GammaService]) { self.classes = classes }

    /// Total arrival rate `λ_i`.
    public var arrivalRate: Double { classes.reduce(0) { $0 + $1.rate } }

    /// Utilisation `ρ_i = Σ λ_c E[S_c]`.
    public var utilization: Double { classes.reduce(0) { $0 + $1.load } }

    /// Pollaczek–Khinchine mean wait `Σ λ_c E[S_c²] / (2 (1 - ρ))`; infinite when `ρ ≥ 1`.
    public var meanWait: Double {
        let rho = utilization
        guard rho < 1 else { return .infinity }
        let numerator = classes.reduce(0) { $0 + $1.rate * $1.secondMoment }
        return numerator / (2 * (1 - rho))
    }

    /// The guarded Cramér–Lundberg waiting-time tail.
    public var waitingTail: WaitingTail { WaitingTail(classes: classes) }
}

/// Solves a decreasing tail `P(T > t) = level` for `t`.
public enum TailQuantile {
    /// The smallest `t` with `tail(t) ≤ level`, to `relativeTolerance` (1e-11 by default).
    /// `scale` is a guess of the answer's size (e.g. a mean); returns infinity when the tail
    /// does not fall to `level`. Bracketing, then regula falsi (Illinois) on `log tail`,
    /// which is close to linear in `t` for queueing tails, with bisection as the fallback.
    public static func solve(level: Double, scale: Double, relativeTolerance: Double = 1e-11,
                             tail: (Double) -> Double) -> Double {
        var high = max(scale, 1e-9)
        var highTail = tail(high)
        var grow = 0
        while highTail > level {
            high *= 2
            highTail = tail(high)
            grow += 1
            if grow > 200 || !high.isFinite { return .infinity }
        }
        var low = high / 2
        var lowTail = tail(low)
        while lowTail <= level {
            high = low
            highTail = lowTail
            low /= 2
            if low < 1e-15 { return high }
            lowTail = tail(low)
        }
        return refine(level: level, low: low, lowTail: lowTail, high: high, highTail: highTail,
                      relativeTolerance: relativeTolerance, tail: tail)
    }

    /// As `solve(level:scale:relativeTolerance:tail:)` where `estimate` is close to the answer
    /// (another approximation's quantile): the bracket grows from it in steps sized by how far
    /// the tail there is from `level` (over a decay `ln(1 / level) / estimate`, an exponential
    /// tail's at the level), so it is a few per cent wide instead of a factor of two, and the
    /// refinement needs fewer evaluations.
    public static func solve(level: Double, near estimate: Double, relativeTolerance: Double = 1e-11,
                             tail: (Double) -> Double) -> Double {
        guard estimate.isFinite, estimate > 1e-9, level > 0, level < 1 else {
            return solve(level: level, scale: estimate.isFinite ? max(estimate, 1e-9) : 1e-9,
                         relativeTolerance: relativeTolerance, tail: tail)
        }
        let first = tail(estimate)
        guard first > 0 else {
            return solve(level: level, scale: estimate, relativeTolerance: relativeTolerance, tail: tail)
        }
        let decay = -Math.log(level) / estimate
        var step = max(abs(Math.log(first / level)) / decay * 1.25, 1e-4 * estimate)
        var low: Double, lowTail: Double, high: Double, highTail: Double
        if first > level {
            low = estimate; lowTail = first
            high = estimate + step
            highTail = tail(high)
            var grow = 0
            while highTail > level {
                low = high; lowTail = highTail
                step *= 2
                high += step
                highTail = tail(high)
                grow += 1
                if grow > 200 || !high.isFinite { return .infinity }
            }
        } else {
            high = estimate; highTail = first
            low = max(estimate - step, estimate / 2)
            lowTail = tail(low)
            while lowTail <= level {
                high = low; highTail = lowTail
                step *= 2
                low = max(low - step, low / 2)
                if low < 1e-15 { return high }
                lowTail = tail(low)
            }
        }
        return refine(level: level, low: low, lowTail: lowTail, high: high, highTail: highTail,
                      relativeTolerance: relativeTolerance, tail: tail)
    }

    /// Regula falsi (Illinois) on `log tail` inside `[low, high]`, where the tail is above
    /// `level` at `low` and at most `level` at `high`, with bisection as the fallback.
    static func refine(level: Double, low: Double, lowTail: Double, high: Double, highTail: Double,
                       relativeTolerance: Double, tail: (Double) -> Double) -> Double {
        var low = low, high = high
        // g(t) = log(tail(t) / level): positive at low, at most 0 at high.
        var gLow = Math.log(lowTail / level)
        var gHigh = highTail > 0 ? Math.log(highTail / level) : -Double.infinity
        var side = 0
        for _ in 0..<200 {
            if high - low <= relativeTolerance * high { break }
            var t = (low + high) / 2
            if gHigh.isFinite && gLow.isFinite && gLow > gHigh {
                t = low + (high - low) * gLow / (gLow - gHigh)
                t = min(max(t, low + 1e-3 * (high - low)), high - 1e-3 * (high - low))
            }
            let value = tail(t)
            if value > level {
                low = t
                gLow = Math.log(value / level)
                if side == 1 { gHigh /= 2 }
                side = 1
                // Just below the root by the chord's estimate: step over it by twice that and a
                // little, which ends within the tolerance when that point's tail is at most `level`.
                let distance = gLow * (high - low) / (gLow - gHigh)
                if gHigh.isFinite, gLow > gHigh, distance <= relativeTolerance * low / 4 {
                    let over = low + 2 * distance + relativeTolerance * low / 4
                    let overTail = tail(over)
                    if overTail <= level { return over }
                    low = over
                    gLow = Math.log(overTail / level)
                }
            } else {
                high = t
                gHigh = value > 0 ? Math.log(value / level) : -Double.infinity
                if side == -1 { gLow /= 2 }
                side = -1
                if gHigh > -1e-12 { break }
                // The chord's estimate of the distance down to the root is well within the
                // tolerance (a quarter: log tails curve a little, and the chord of a convex
                // function puts the root nearer; `gLow` halved by the Illinois step only
                // lengthens the estimate).
                if gHigh.isFinite, gLow > gHigh, -gHigh * (high - low) / (gLow - gHigh) <= relativeTolerance * high / 4 { break }
            }
        }
        return high
    }
}
