/// Streaming response-time statistics in fixed memory: exact count, mean and maximum, and
/// percentiles from a log-bucketed histogram.
///
/// Buckets are read straight off the bits of the `Double` (exponent and the top
/// `subBucketBits` of the mantissa, as HdrHistogram does), so recording costs no logarithm.
/// With 256 buckets per octave a bucket is 0.27 % wide, and interpolating inside it keeps
/// percentile errors far below the 2 % the validation compares at.
public struct LatencyHistogram: Hashable, Sendable {
    static let subBucketBits: UInt64 = 8
    /// Smallest resolved value: 2^-30 s (about 1 ns); smaller values share the first bucket.
    static let minExponent: UInt64 = 1023 - 30
    /// Largest resolved value: 2^24 s; larger values share the last bucket.
    static let maxExponent: UInt64 = 1023 + 24
    static let bucketCount = Int((maxExponent - minExponent) << subBucketBits)

    private var buckets: [UInt64]
    public private(set) var count: Int = 0
    public private(set) var sum: Double = 0
    public private(set) var maximum: Double = 0

    public init() {
        buckets = Array(repeating: 0, count: LatencyHistogram.bucketCount)
    }

    static func bucket(of value: Double) -> Int {
        let bits = value.bitPattern
        let exponent = (bits >> 52) & 0x7FF
        if exponent < minExponent { return 0 }
        if exponent >= maxExponent { return bucketCount - 1 }
        let mantissaTop = (bits >> (52 - subBucketBits)) & ((1 << subBucketBits) - 1)
        return Int(((exponent - minExponent) << subBucketBits) | mantissaTop)
    }

    /// Lower edge of bucket `index`.
    static func lowerEdge(of index: Int) -> Double {
        let exponent = UInt64(index) >> subBucketBits + minExponent
        let mantissaTop = UInt64(index) & ((1 << subBucketBits) - 1)
        return Double(bitPattern: exponent << 52 | mantissaTop << (52 - subBucketBits))
    }

    /// Adds one response time in seconds (non-negative).
    public mutating func record(_ value: Double) {
        buckets[LatencyHistogram.bucket(of: value)] &+= 1
        count += 1
        sum += value
        if value > maximum { maximum = value }
    }

    /// Adds every observation of `other`.
    public mutating func merge(_ other: LatencyHistogram) {
        for i in buckets.indices { buckets[i] &+= other.buckets[i] }
        count += other.count
        sum += other.sum
        maximum = max(maximum, other.maximum)
    }

    /// Mean in seconds; NaN when empty.
    public var mean: Double { count > 0 ? sum / Double(count) : .nan }

    /// The `q`-quantile (0 < q < 1) in seconds, interpolated linearly inside its bucket;
    /// NaN when empty.
    public func quantile(_ q: Double) -> Double {
        guard count > 0 else { return .nan }
        let rank = q * Double(count)
        var cumulative = 0.0
        for (index, n) in buckets.enumerated() where n > 0 {
            let next = cumulative + Double(n)
            if next >= rank {
                let lower = LatencyHistogram.lowerEdge(of: index)
                let upper = min(LatencyHistogram.lowerEdge(of: index + 1), maximum)
                let within = (rank - cumulative) / Double(n)
                return lower + max(0, upper - lower) * within
            }
            cumulative = next
        }
        return maximum
    }

    /// Fraction of observations above `value` (bucket resolution).
    public func fractionAbove(_ value: Double) -> Double {
        guard count > 0 else { return .nan }
        let edge = LatencyHistogram.bucket(of: value)
        var above: UInt64 = 0
        for i in (edge + 1)..<buckets.count { above &+= buckets[i] }
        return Double(above) / Double(count)
    }
}
