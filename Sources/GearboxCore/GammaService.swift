/// One class of service times at a CPU: Poisson arrivals at `rate`, gamma service times.
///
/// Work that is gamma with shape `k = 1 / c²` and mean `w`, run at speed `s`, takes a
/// gamma time with the same shape and scale `w / (k s)` (docs/model.md, "Two-speed selection").
public struct GammaService: Hashable, Sendable {
    /// Arrivals per second of this class at the CPU.
    public var rate: Double
    public var shape: Double
    /// Scale in seconds; the mean service time is `shape * scale`.
    public var scale: Double

    /// `log Γ(shape)`, kept because the incomplete gamma functions need it on every call.
    let logGammaShape: Double

    public init(rate: Double, shape: Double, scale: Double) {
        self.rate = rate
        self.shape = shape
        self.scale = scale
        logGammaShape = shape == 1 ? 0 : Math.lgamma(shape)
    }

    /// Work of mean `work` ref-s and squared coefficient of variation `scv`, run at `speed`.
    public init(rate: Double, work: Double, scv: Double, speed: Double) {
        let shape = GammaService.shape(scv: scv)
        self.init(rate: rate, shape: shape, scale: work / (shape * speed))
    }

    /// Gamma shape for a squared coefficient of variation; below 0.01 it is taken as 0.01
    /// (shape 100), which is as near deterministic as the latency model needs.
    public static func shape(scv: Double) -> Double { 1 / max(scv, 0.01) }

    public var mean: Double { shape * scale }
    public var secondMoment: Double { shape * (shape + 1) * scale * scale }
    /// Offered load `rate * E[S]`.
    public var load: Double { rate * shape * scale }
    /// The pole of the moment generating function, `1 / scale`.
    public var pole: Double { 1 / scale }

    /// `E[exp(η S)] = (1 - η θ)^(-k)`, for `η < 1 / θ`.
    @inlinable public func mgf(_ eta: Double) -> Double {
        let base = 1 - eta * scale
        return shape == 1 ? 1 / base : Math.exp(-shape * Math.log(base))
    }

    /// `E[S exp(η S)] = k θ (1 - η θ)^(-k-1)`, for `η < 1 / θ`.
    @inlinable public func mgfDerivative(_ eta: Double) -> Double {
        let base = 1 - eta * scale
        return shape == 1 ? scale / (base * base) : shape * scale * Math.exp(-(shape + 1) * Math.log(base))
    }

    /// `P(S > t)`.
    public func survival(_ t: Double) -> Double {
        if t <= 0 { return 1 }
        return shape == 1 ? Math.exp(-t / scale) : IncompleteGamma.upper(shape, t / scale, logGamma: logGammaShape)
    }

    /// `∫_0^t exp(-η (t - u)) f_S(u) du`: the service time convolved with an exponential
    /// waiting-time tail of decay `η`, in closed form (the integrand is a rescaled gamma
    /// density when `η θ < 1`, and a positive power series otherwise).
    public func convolvedWithExponential(decay eta: Double, at t: Double) -> Double {
        if t <= 0 { return 0 }
        let x = t / scale
        if shape == 1 {
            // (e^{-ηt} - e^{-t/θ}) / (1 - ηθ), written to stay exact as ηθ → 1.
            let gap = x - eta * t  // t (1 - ηθ) / θ
            let ratio = abs(gap) < 1e-8 ? 1 - gap / 2 : -Math.expm1(-gap) / gap
            return Math.exp(-eta * t) * x * ratio
        }
        let reduction = 1 - eta * scale
        if reduction > 0 {
            return Math.exp(-eta * t - shape * Math.log(reduction))
                * IncompleteGamma.lower(shape, x * reduction, logGamma: logGammaShape)
        }
        // ∫_0^t u^{k-1} e^{βu} du with β = η - 1/θ ≥ 0, as t^k Σ (βt)^n / (n! (k+n)).
        let bt = (eta - 1 / scale) * t
        var term = 1.0
        var sum = 1 / shape
        var n = 0.0
        while n < 10_000 {
            n += 1
            term *= bt / n
            let add = term / (shape + n)
            sum += add
            if add < sum * 1e-16 { break }
        }
        return Math.exp(-eta * t + shape * Math.log(x) - logGammaShape) * sum
    }
}
