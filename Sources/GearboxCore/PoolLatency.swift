/// How the planner judges a confined queue (docs/model.md, "Pools").
public enum PoolModel: String, Hashable, Sendable, CaseIterable {
    /// Per-CPU FCFS queues with the balanced shares: pessimistic, since a pool never leaves a
    /// request waiting while a CPU of its set is idle.
    case perCPU = "per-cpu"
    /// The pool as one M/G/c queue (`PoolLatency`), where the queue has its set to itself.
    case allenCunneen = "allen-cunneen"
}

/// The Allen–Cunneen approximation of an M/G/c FCFS queue (Allen, "Probability, Statistics,
/// and Queueing Theory", 2nd ed., 1990, §6.3; Tijms, "A First Course in Stochastic Models",
/// 2003, §5.7), for a confined queue served by a pool of CPUs of different speeds:
///
///     E[Wq] ≈ C(c, cρ) · E[S] / (c (1 - ρ)) · (c_a² + c_s²) / 2
///
/// with `C` Erlang's delay probability, `c` the CPUs of the set, `ρ = λ w / Σ s_i`, and the
/// servers' mean service time `E[S] = c w / Σ s_i` (the harmonic mean over the set: a busy
/// pool's CPUs each serve in proportion to speed). Arrivals are Poisson (`c_a² = 1`). The
/// wait's tail is taken exponential with that mean beyond the delay probability,
/// `P(Wq > t) ≈ C e^{-θ t}` with `θ = c (1 - ρ) / E[S] · 2 / (1 + c_s²)`, and a request's own
/// service runs on CPU `i` with probability `s_i / Σ s_j` at speed `s_i`.
public struct PoolLatency: Hashable, Sendable {
    public var rate: Double
    public var work: Double
    public var scv: Double
    /// Speed (ref-s of work per second) of each CPU of the set.
    public var speeds: [Double]

    public init(rate: Double, work: Double, scv: Double, speeds: [Double]) {
        self.rate = rate
        self.work = work
        self.scv = scv
        self.speeds = speeds.filter { $0 > 0 && $0.isFinite }
    }

    var capacity: Double { speeds.reduce(0, +) }
    public var utilization: Double { capacity > 0 ? rate * work / capacity : .infinity }

    /// Erlang C: the probability that an arrival waits in M/M/c at utilisation `rho`, from
    /// Erlang B's recursion (stable for any c).
    public static func delayProbability(servers c: Int, utilization rho: Double) -> Double {
        guard c > 0, rho < 1 else { return 1 }
        guard rho > 0 else { return 0 }
        let a = Double(c) * rho
        var b = 1.0
        for n in 1...c { b = a * b / (Double(n) + a * b) }
        return b / (1 - rho * (1 - b))
    }

    /// Mean service time of a busy pool's servers.
    var serverMean: Double { Double(speeds.count) * work / capacity }
    var waitProbability: Double { Self.delayProbability(servers: speeds.count, utilization: utilization) }
    /// `θ` of the exponential wait tail.
    var decay: Double { Double(speeds.count) * (1 - utilization) / serverMean * 2 / (1 + scv) }

    /// The predicted mean response time, or infinity when the pool is overloaded.
    public var meanResponse: Double {
        guard !speeds.isEmpty, utilization < 1 else { return .infinity }
        let own = speeds.reduce(0) { $0 + ($1 / capacity) * work / $1 }
        return waitProbability / decay + own
    }

    /// `P(T > t)`: the request's own service on a CPU chosen in proportion to speed, plus the
    /// wait convolved with it.
    public func responseProbabilityExceeding(_ t: Double) -> Double {
        guard !speeds.isEmpty, utilization < 1 else { return 1 }
        let c = waitProbability, eta = decay
        var p = 0.0
        for s in speeds {
            let service = GammaService(rate: 1, work: work, scv: scv, speed: s)
            p += (s / capacity) * (service.survival(t) + c * service.convolvedWithExponential(decay: eta, at: t))
        }
        return min(1, max(0, p))
    }

    /// The response time of `kind` (mean or percentile), by bisection for a percentile.
    public func latency(_ kind: LatencyKind) -> Double {
        guard let alpha = kind.quantile else { return meanResponse }
        guard !speeds.isEmpty, utilization < 1 else { return .infinity }
        var high = max(meanResponse, work / (speeds.max() ?? 1))
        var rounds = 0
        while responseProbabilityExceeding(high) > 1 - alpha && rounds < 200 {
            high *= 2
            rounds += 1
        }
        var low = 0.0
        for _ in 0..<100 {
            let middle = (low + high) / 2
            if responseProbabilityExceeding(middle) > 1 - alpha { low = middle } else { high = middle }
        }
        return high
    }
}
