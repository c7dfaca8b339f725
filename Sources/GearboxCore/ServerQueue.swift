/// One CPU as a multi-class M/G/1 FCFS queue (MODEL.md, "Latency (route mode)").
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

/// Solves a decreasing tail `P(T > t) = level` for `t` by bisection.
public enum TailQuantile {
    /// The smallest `t` with `tail(t) ≤ level`, to a relative accuracy of about 1e-10.
    /// `scale` is a guess of the answer's size (e.g. a mean); returns infinity when the tail
    /// does not fall to `level`.
    public static func solve(level: Double, scale: Double, tail: (Double) -> Double) -> Double {
        var high = max(scale, 1e-9)
        var grow = 0
        while tail(high) > level {
            high *= 2
            grow += 1
            if grow > 200 || !high.isFinite { return .infinity }
        }
        var low = 0.0
        if grow == 0 {
            // Shrink to bracket from below too, so the bisection starts tight.
            var probe = high / 2
            while probe > 1e-15 && tail(probe) <= level {
                high = probe
                probe /= 2
            }
            low = probe
        } else {
            low = high / 2
        }
        for _ in 0..<200 {
            let mid = (low + high) / 2
            if tail(mid) > level { low = mid } else { high = mid }
            if high - low <= 1e-11 * high { break }
        }
        return high
    }
}
