/// Latency measured over a window from a Prometheus-style histogram (cumulative counts of
/// observations at or below each upper bound `le`), for `LatencyFeedback`.
public struct HistogramWindow: Hashable, Sendable {
    /// Seconds the window has covered.
    public private(set) var seconds = 0.0
    /// Observations and their sum (seconds) in the window.
    public private(set) var count = 0.0
    public private(set) var sum = 0.0
    /// Cumulative observations at or below each upper bound, in the window (+∞ included).
    public private(set) var buckets: [Double: Double] = [:]

    /// Most buckets a window keeps: a histogram with more is not used for percentiles.
    public static let maximumBuckets = 256

    public init() {}

    /// Adds one interval's increases. Non-finite or negative increases are ignored (a counter
    /// reset is the caller's to handle), as are bucket sets larger than `maximumBuckets`.
    public mutating func add(seconds interval: Double, count n: Double, sum s: Double, buckets increases: [Double: Double]) {
        guard interval.isFinite, interval > 0, n.isFinite, n >= 0, s.isFinite, s >= 0 else { return }
        seconds += interval
        count += n
        sum += s
        guard increases.count <= Self.maximumBuckets else { return }
        for (bound, increase) in increases where !bound.isNaN && increase.isFinite && increase >= 0 {
            buckets[bound, default: 0] += increase
        }
    }

    /// The window's statistic of `kind` in seconds: the mean, or the percentile interpolated
    /// linearly inside its bucket as Prometheus's `histogram_quantile` does (the first bucket
    /// starts at 0; a percentile in the +∞ bucket is the highest finite bound). Nil without
    /// observations or, for a percentile, without buckets.
    public func statistic(_ kind: LatencyKind) -> Double? {
        guard count > 0 else { return nil }
        guard let q = kind.quantile else { return sum / count }
        let bounds = buckets.keys.sorted()
        guard let total = bounds.last.flatMap({ buckets[$0] }), total > 0 else { return nil }
        let rank = q * total
        var lowerBound = 0.0, lowerCount = 0.0
        for bound in bounds {
            let cumulative = buckets[bound]!
            if cumulative >= rank {
                guard bound.isFinite else { return lowerBound }
                let inside = cumulative - lowerCount
                return inside > 0 ? lowerBound + (bound - lowerBound) * (rank - lowerCount) / inside : bound
            }
            lowerBound = bound.isFinite ? bound : lowerBound
            lowerCount = cumulative
        }
        return lowerBound
    }
}
