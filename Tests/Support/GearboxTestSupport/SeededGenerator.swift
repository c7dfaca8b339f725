import Foundation

/// SplitMix64: a small, fast, seeded generator so that every random test is reproducible.
public struct SeededGenerator: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in (0, 1] (never 0, so its logarithm is finite).
    public mutating func unit() -> Double { (Double(next() >> 11) + 1) / 9_007_199_254_740_992 }
    /// Exponential with the given mean.
    public mutating func exponential(mean: Double) -> Double { -mean * log(unit()) }
}
