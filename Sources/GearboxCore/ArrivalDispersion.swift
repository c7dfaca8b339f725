/// How over-dispersed a queue's arrivals are (docs/model.md, "Burst-aware estimates"): the
/// index of dispersion (variance over mean) of its per-tick arrival counts over a short and a
/// long window of ticks. For a renewal process it tends to the inter-arrival SCV `c_a²` as the
/// window grows; Poisson arrivals give 1.
///
/// The simulator's `gearbox` policy and the agent both keep one per queue; memory is bounded
/// (`longTicks` counts).
public struct ArrivalDispersion: Hashable, Sendable {
    /// Ticks in the short and the long window.
    public static let shortTicks = 10
    public static let longTicks = 60
    /// Largest index planned with (the SCV it adds is bounded by it).
    public static let largest = 200.0
    /// A change of the planning index by more than this fraction from the one the plan in force
    /// was made with re-plans.
    public static let replanFraction = 0.25
    /// Counts over a span outside this range of ticks are not kept: a count over several
    /// ticks (scrapes missed in between) measures dispersion on another time scale.
    public static let spans = 0.5...2.0

    /// The last `longTicks` counts, oldest first.
    public private(set) var counts: [Double] = []
    /// The span of each count in ticks (1 for a count over exactly one tick).
    public private(set) var ticks: [Double] = []

    public init() {}

    /// Adds one arrival count over `ticks` ticks (ignored unless the count is finite and
    /// non-negative and the span within `spans`).
    public mutating func add(count: Double, ticks span: Double = 1) {
        guard count.isFinite, count >= 0, span.isFinite, Self.spans.contains(span) else { return }
        counts.append(count)
        ticks.append(span)
        if counts.count > Self.longTicks {
            counts.removeFirst(counts.count - Self.longTicks)
            ticks.removeFirst(ticks.count - Self.longTicks)
        }
    }

    /// Forgets every count (the counts no longer describe the queue's arrivals).
    public mutating func reset() {
        counts = []
        ticks = []
    }

    /// Variance over mean of the last `n` counts; nil with fewer than `n` counts or none positive.
    /// Counts over unequal spans `tᵢ` are weighed as Pearson's dispersion statistic does,
    /// `Σ (cᵢ − λ tᵢ)² / tᵢ / ((n − 1) λ)` with `λ = Σ cᵢ / Σ tᵢ`: 1 for Poisson counts
    /// whatever the spans, and the plain variance over mean when every span is one tick.
    public func index(over n: Int) -> Double? {
        guard n >= 2, counts.count >= n else { return nil }
        let window = counts.suffix(n), spans = ticks.suffix(n)
        let mean = window.reduce(0, +) / spans.reduce(0, +)
        guard mean > 0 else { return nil }
        let variance = zip(window, spans).reduce(0) { $0 + ($1.0 - mean * $1.1) * ($1.0 - mean * $1.1) / $1.1 } / Double(n - 1)
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

    /// Whether `index` moved by more than `replanFraction` from `planned`, the index the plan in
    /// force was made with (then re-plan).
    public static func moved(_ index: Double, from planned: Double) -> Bool {
        abs(index / planned - 1) > replanFraction
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
