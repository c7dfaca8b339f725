/// How over-dispersed a queue's arrivals are (docs/model.md, "Burst-aware estimates"): the
/// index of dispersion (variance over mean) of its per-tick arrival counts over a short and a
/// long window of ticks. For a renewal process it tends to the inter-arrival SCV `c_a²` as the
/// window grows; Poisson arrivals give 1.
public struct ArrivalDispersion: Hashable, Sendable {
    /// Ticks in the short and the long window.
    public static let shortTicks = 10
    public static let longTicks = 60
    /// Largest index planned with (the SCV it adds is bounded by it).
    public static let largest = 200.0

    /// The last `longTicks` counts, oldest first.
    public private(set) var counts: [Double] = []

    public init() {}

    /// Adds one tick's arrival count (ignored unless finite and non-negative).
    public mutating func add(count: Double) {
        guard count.isFinite, count >= 0 else { return }
        counts.append(count)
        if counts.count > Self.longTicks { counts.removeFirst(counts.count - Self.longTicks) }
    }

    /// Variance over mean of the last `n` counts; nil with fewer than `n` counts or none positive.
    public func index(over n: Int) -> Double? {
        guard n >= 2, counts.count >= n else { return nil }
        let window = counts.suffix(n)
        let mean = window.reduce(0, +) / Double(n)
        guard mean > 0 else { return nil }
        let variance = window.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
        return variance / mean
    }

    /// The index to plan with: the larger of the two windows' indices that exceeds 1 by more
    /// than four standard deviations of its sampling noise (for `n` Poisson counts the index has
    /// standard deviation about `√(2 / (n − 1))`; four keep Poisson arrivals from re-planning on
    /// noise: about one tick in 500 for the short window), else 1 (Poisson); at most `largest`.
    public var planningIndex: Double {
        var planned = 1.0
        for n in [Self.shortTicks, Self.longTicks] {
            guard let i = index(over: n), i > 1 + 4 * (2 / Double(n - 1)).squareRoot() else { continue }
            planned = max(planned, i)
        }
        return min(planned, Self.largest)
    }

    /// `queue` with its work SCV raised by `index − 1`, so that the M/G/1 mean wait the planner
    /// computes, `ρ/(1−ρ) · (1 + c_s²)/2 · E[S]`, is Kingman's GI/G/1 approximation
    /// `ρ/(1−ρ) · (c_a² + c_s²)/2 · E[S]` with `c_a²` the index (Kingman 1961; Allen–Cunneen
    /// for c servers). The tails grow with it (heavy-traffic decay `2(1−ρ)/(E[S](c_a² + c_s²))`).
    public static func burstAware(_ queue: WorkQueue, index: Double) -> WorkQueue {
        guard index.isFinite, index > 1 else { return queue }
        var q = queue
        q.scv = min(InputLimits.scv.highest, queue.scv + index - 1)
        return q
    }
}
