import ComplexModule

/// The exact response-time tail of a multi-class M/G/1 FCFS CPU with gamma service times,
/// by numerical inversion of the Pollaczek–Khinchine transform.
///
/// Why: the guarded Cramér–Lundberg tail (`WaitingTail`) is a lower estimate when short
/// requests share a CPU with long, high-variance work. On a big.LITTLE host where a web
/// queue (1 ms, p99 target) put 18 % of its requests on a little CPU that also ran SCV-2
/// batch work, CL predicted a p99 of 12.0 ms and simulation measured 15.1 ms; this
/// inversion gives 15.4 ms for the same plan. The planner searches with CL (fast, and
/// monotone in every decision) and checks the result with this (see `Planner.plan`).
///
/// The FCFS wait has the transform `W*(s) = (1 - ρ) s / (s - λ + Σ_c λ_c S_c*(s))`, the
/// response of a request whose own service is `S_q` is `W + S_q` with `W` independent of
/// `S_q` (Poisson arrivals), and its tail `P(T > t)` has the Laplace transform
/// `(1 - W*(s) S_q*(s)) / s`. A gamma time of shape `k` and scale `θ` has
/// `S*(s) = (1 + θ s)^(-k)`. The tail is recovered at `t` with Abate and Whitt's Euler
/// algorithm (1995): a trapezoidal Bromwich sum along `Re s = A / 2t`, accelerated by Euler
/// summation.
public struct PollaczekKhinchineTail: Hashable, Sendable {
    public let classes: [GammaService]
    let arrivalRate: Double
    let utilization: Double

    public init(classes: [GammaService]) {
        self.classes = classes.filter { $0.rate > 0 }
        arrivalRate = self.classes.reduce(0) { $0 + $1.rate }
        utilization = self.classes.reduce(0) { $0 + $1.load }
    }

    /// `A` of the Euler algorithm: discretisation error about `e^(-A)` = 3e-10, round-off
    /// about `e^(A/2)` × 1e-16 = 6e-12. With 25 plain and 15 averaged terms an M/M/1 p99
    /// comes out within 2e-11 of `ln(100) / (μ - λ)` (Abate and Whitt's 18.4, 15 and 11
    /// give 5e-8).
    static let contour = 22.0
    /// Terms summed before Euler averaging, and the number averaged (binomial weights).
    static let plainTerms = 25
    static let averagedTerms = 15

    /// `P(Wait + S > t)` for a request whose own service time is the mix of `service`
    /// (each class weighted by its rate); 1 when the CPU is saturated.
    public func responseProbabilityExceeding<C: Collection>(_ t: Double, service: C) -> Double
    where C.Element == GammaService {
        guard utilization < 1 else { return 1 }
        if t <= 0 { return 1 }
        let ownRate = service.reduce(0) { $0 + $1.rate }
        guard ownRate > 0 else { return 0 }
        let a = Self.contour
        let step = Double.pi / t
        let count = Self.plainTerms + Self.averagedTerms
        // Partial sums of the alternating series, then their binomial (Euler) average.
        let m = Self.averagedTerms
        var partial = 0.0
        var averaged = 0.0
        var weight = 1.0 / Double(1 << m)  // C(m, j) / 2^m, for the j-th averaged sum
        var j = 0
        for k in 0...count {
            let s = Complex(a / (2 * t), Double(k) * step)
            let term = tailTransform(s, service: service, ownRate: ownRate).real
            partial += (k % 2 == 0 ? 1 : -1) * (k == 0 ? term / 2 : term)
            if k >= Self.plainTerms {
                averaged += weight * partial
                j += 1
                weight *= Double(m - j + 1) / Double(j)
            }
        }
        let value = Math.exp(a / 2) / t * averaged
        return min(1, max(0, value))
    }

    /// `(1 - W*(s) S_q*(s)) / s`.
    func tailTransform<C: Collection>(_ s: Complex<Double>, service: C, ownRate: Double) -> Complex<Double>
    where C.Element == GammaService {
        var mixed = Complex<Double>(s.real - arrivalRate, s.imaginary)
        for c in classes { mixed = mixed + c.laplaceTransform(s).multiplied(by: c.rate) }
        let wait = s.multiplied(by: 1 - utilization) / mixed
        var own = Complex<Double>.zero
        for c in service { own = own + c.laplaceTransform(s).multiplied(by: c.rate / ownRate) }
        return (Complex<Double>.one - wait * own) / s
    }

    /// The `quantile` (e.g. 0.99) of the response time of a request routed to these CPUs:
    /// `placements` gives, per CPU, its tail, the request's service classes there and the
    /// share of requests it takes. `scale` is an estimate of the answer (the Cramér–Lundberg
    /// quantile): the bracket is grown from it (`TailQuantile.solve(level:near:)`).
    public static func responseQuantile(
        _ quantile: Double, placements: [(tail: PollaczekKhinchineTail, service: [GammaService], share: Double)],
        scale: Double
    ) -> Double {
        let total = placements.reduce(0) { $0 + $1.share }
        guard total > 0 else { return .infinity }
        // To 1e-9: the inversion itself is good to about 1e-11 at an M/M/1 p99, and each
        // step costs 41 transforms per CPU.
        return TailQuantile.solve(level: 1 - quantile, near: scale, relativeTolerance: 1e-9) { t in
            placements.reduce(0.0) { $0 + $1.share * $1.tail.responseProbabilityExceeding(t, service: $1.service) } / total
        }
    }
}

extension GammaService {
    /// `E[exp(-s S)] = (1 + θ s)^(-k)` for complex `s` with `Re s ≥ 0`.
    func laplaceTransform(_ s: Complex<Double>) -> Complex<Double> {
        let base = Complex<Double>(1 + scale * s.real, scale * s.imaginary)
        if shape == 1 { return Complex<Double>.one / base }
        return Complex.exp(Complex.log(base).multiplied(by: -shape))
    }
}
