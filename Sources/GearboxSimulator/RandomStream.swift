import GearboxCore

/// A seeded xoshiro256** generator (Blackman and Vigna): fast, 256-bit state, reproducible.
///
/// Each source of randomness in a simulation (a queue's arrivals and work, routing, speed
/// draws) owns its own stream, so that two policies run on the same seed see the same
/// arrivals and the same work however differently they dispatch.
public struct RandomStream: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64
    /// A spare standard normal from the polar method, kept so no draw is wasted.
    private var spareNormal: Double?

    /// A stream for `seed` and a stream number; distinct streams are independent in practice.
    public init(seed: UInt64, stream: UInt64 = 0) {
        // SplitMix64 expands the seed into the state (the seeding Vigna recommends); the
        // stream number is mixed in first so streams of one seed differ in every word.
        var x = seed ^ (stream &* 0xD1B5_4A32_D192_ED03)
        func next() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = next(); s1 = next(); s2 = next(); s3 = next()
        spareNormal = nil
    }

    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = RandomStream.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = RandomStream.rotl(s3, 45)
        return result
    }

    /// Uniform on [0, 1), 53 bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform on (0, 1], safe to take the logarithm of.
    public mutating func uniformPositive() -> Double {
        Double((next() >> 11) + 1) * 0x1.0p-53
    }

    /// Exponential with mean 1.
    public mutating func exponential() -> Double {
        -Math.log(uniformPositive())
    }

    /// Standard normal (Marsaglia's polar method).
    public mutating func normal() -> Double {
        if let z = spareNormal {
            spareNormal = nil
            return z
        }
        while true {
            let u = 2 * uniform() - 1
            let v = 2 * uniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                let m = (-2 * Math.log(s) / s).squareRoot()
                spareNormal = v * m
                return u * m
            }
        }
    }

    /// Gamma with the given shape and scale 1 (Marsaglia and Tsang 2000).
    public mutating func gamma(shape: Double) -> Double {
        if shape < 1 {
            // Boost: Gamma(a) = Gamma(a + 1) · U^(1/a).
            let g = gamma(shape: shape + 1)
            return g * Math.pow(uniformPositive(), 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = normal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = uniformPositive()
            let x2 = x * x
            if u < 1 - 0.0331 * x2 * x2 { return d * v }
            if Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v)) { return d * v }
        }
    }
}

/// A non-negative random variate with mean 1 and a given squared coefficient of variation.
///
/// SCV 1 is exponential, 0 is deterministic, anything else gamma with shape 1/SCV (docs/model.md, "Workload":
/// work is gamma; its moment generating function is the planner's closed form).
public struct UnitWork: Hashable, Sendable {
    public let scv: Double
    let shape: Double
    public init(scv: Double) {
        self.scv = max(0, scv)
        self.shape = scv > 0 ? 1 / scv : .infinity
    }

    /// One draw from `stream`.
    public func draw(_ stream: inout RandomStream) -> Double {
        if scv == 1 { return stream.exponential() }
        if scv == 0 { return 1 }
        return stream.gamma(shape: shape) / shape
    }
}
