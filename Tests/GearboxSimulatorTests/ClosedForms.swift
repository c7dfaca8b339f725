import GearboxCore

/// Queueing closed forms computed independently of the planner, for checking the simulator.
enum ClosedForms {
    /// One class of an M/G/1 FCFS queue: arrivals per second, mean work (ref-s), work SCV
    /// (gamma), served at `speed`.
    struct ServiceClass {
        var rate: Double
        var meanWork: Double
        var scv: Double
        var speed: Double = 1
        var meanService: Double { meanWork / speed }
        var shape: Double { 1 / scv }
        /// Gamma scale of the service time.
        var scale: Double { meanService * scv }
    }

    /// Pollaczek–Khinchine mean response for a multi-class M/G/1 queue, given each class's
    /// rate, E[S] and E[S²]: `Σλ E[S²] / (2 (1 − ρ)) + E[S_q]`.
    static func pollaczekKhinchine(
        classes: [(rate: Double, mean: Double, second: Double)], of q: Int
    ) -> Double {
        let rho = classes.reduce(0) { $0 + $1.rate * $1.mean }
        let wait = classes.reduce(0) { $0 + $1.rate * $1.second } / (2 * (1 - rho))
        return wait + classes[q].mean
    }

    /// `E[exp(η S)]` and its derivative `E[S exp(η S)]` for gamma service.
    static func mgf(_ c: ServiceClass, _ eta: Double) -> (m: Double, dm: Double) {
        let base = 1 - eta * c.scale
        return (Math.pow(base, -c.shape), c.meanService * Math.pow(base, -c.shape - 1))
    }

    /// The Cramér–Lundberg tail `P(Wait > t) ≈ C e^(−η t)` of an M/G/1 FCFS queue.
    static func cramerLundberg(_ classes: [ServiceClass]) -> (c: Double, eta: Double) {
        let lambda = classes.reduce(0) { $0 + $1.rate }
        let rho = classes.reduce(0) { $0 + $1.rate * $1.meanService }
        let pole = classes.map { 1 / $0.scale }.min()!
        func f(_ eta: Double) -> Double {
            lambda * (classes.reduce(0) { $0 + $1.rate / lambda * mgf($1, eta).m } - 1) - eta
        }
        // f < 0 just above 0 (ρ < 1) and → +∞ at the pole.
        var lo = 1e-9 * pole, hi = pole * (1 - 1e-12)
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if f(mid) < 0 { lo = mid } else { hi = mid }
        }
        let eta = (lo + hi) / 2
        let dm = classes.reduce(0) { $0 + $1.rate / lambda * mgf($1, eta).dm }
        return ((1 - rho) / (lambda * dm - 1), eta)
    }

    /// `P(T > t)` for class `q`: its own service plus the CL wait (gamma service in closed
    /// form through the incomplete gamma function).
    static func responseTail(_ classes: [ServiceClass], of q: Int, at t: Double) -> Double {
        let (c, eta) = cramerLundberg(classes)
        let s = classes[q]
        let serviceTail = 1 - regularizedGammaP(s.shape, t / s.scale)
        // ∫_0^t C e^{−η(t−u)} f(u) du = C e^{−ηt} (1 − ηθ)^{−k} P(k, t (1 − ηθ)/θ)
        let tilt = 1 - eta * s.scale
        let waitPart = c * Math.exp(-eta * t) * Math.pow(tilt, -s.shape)
            * regularizedGammaP(s.shape, t * tilt / s.scale)
        return serviceTail + waitPart
    }

    /// The `quantile` of class `q`'s response time, by bisection.
    static func responseQuantile(_ classes: [ServiceClass], of q: Int, quantile: Double) -> Double {
        var lo = 0.0, hi = 1.0
        while responseTail(classes, of: q, at: hi) > 1 - quantile { hi *= 2 }
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if responseTail(classes, of: q, at: mid) > 1 - quantile { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }

    /// The regularised lower incomplete gamma function P(a, x) (series, or Lentz's
    /// continued fraction for the upper part when x > a + 1).
    static func regularizedGammaP(_ a: Double, _ x: Double) -> Double {
        if x <= 0 { return 0 }
        let logPrefix = a * Math.log(x) - x - Math.lgamma(a)
        if x < a + 1 {
            var term = 1 / a, sum = term, n = a
            for _ in 0..<10_000 {
                n += 1
                term *= x / n
                sum += term
                if abs(term) < abs(sum) * 1e-16 { break }
            }
            return sum * Math.exp(logPrefix)
        }
        let tiny = 1e-300
        var b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d
        for i in 1..<10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return 1 - Math.exp(logPrefix) * h
    }
}
