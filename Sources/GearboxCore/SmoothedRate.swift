/// An exponentially weighted moving average with a half-life, plus burst detection for counts
/// (docs/model.md, "Estimating the inputs online"). The agent's estimates and the simulator's
/// gearbox policy both use it, so that what is simulated is what runs.
public struct SmoothedRate: Hashable, Sendable {
    public let halfLife: Double
    public private(set) var value: Double?

    /// Standard deviations of a Poisson count above the estimate that make a burst.
    public var burstDeviations: Double = 3

    public init(halfLife: Double, initial: Double? = nil, burstDeviations: Double = 3) {
        self.halfLife = halfLife
        self.value = initial
        self.burstDeviations = burstDeviations
    }

    /// Folds in a measurement that covers `interval` seconds. The weight `1 - 2^(-interval/halfLife)`
    /// makes the average's memory independent of how often it is sampled.
    public mutating func add(_ measurement: Double, over interval: Double) {
        guard measurement.isFinite, interval > 0 else { return }
        guard let current = value else { value = measurement; return }
        let weight = 1 - Math.exp2(-interval / halfLife)
        value = current + weight * (measurement - current)
    }

    /// Replaces the average by a measurement (after a burst, the past is no guide).
    public mutating func reset(to measurement: Double) { value = measurement }

    /// After a burst of `count` events in `interval` seconds: the estimate jumps to the low
    /// end of what the count says, `count − 2 √count`. One tick of a Poisson count overstates
    /// the rate it came from, and a plan for the raw count spends for a rate that is not
    /// there. In simulation, jumping to the raw count made gearbox plan for 80 requests/s
    /// of a 60/s queue.
    public mutating func jump(toCount count: Double, over interval: Double) {
        guard interval > 0 else { return }
        value = max(value ?? 0, SmoothedRate.burstRate(count: count, over: interval))
    }

    /// `(count − 2 √count) / interval`, the rate a burst is believed to show.
    public static func burstRate(count: Double, over interval: Double) -> Double {
        max(0, count - 2 * count.squareRoot()) / interval
    }

    /// True when `count` events in `interval` seconds exceed the estimate by more than
    /// `burstDeviations` standard deviations of a Poisson count (of at least 1, so that a
    /// near-idle queue's first few requests are no burst): re-plan at once.
    public func isBurst(count: Double, over interval: Double) -> Bool {
        guard let rate = value, interval > 0 else { return false }
        let expected = rate * interval
        return count > expected + burstDeviations * max(expected, 1).squareRoot()
    }
}
