import GearboxCore

/// Online estimates of each queue's arrival rate and mean work, as the agent forms them
/// (MODEL.md, "Estimating the inputs online"): exponentially weighted moving averages with
/// a half-life, fed once per tick with that tick's arrival count and work.
public struct WorkloadEstimator: Hashable, Sendable {
    public var halfLife: Double
    public var sharpRiseDeviations: Double
    /// Smoothed arrivals per second, per queue; nil before the first tick.
    public private(set) var rates: [Double]?
    /// Smoothed work per second (ref-s/s), per queue; mean work is its ratio to the rate.
    private var workRates: [Double] = []

    public init(queueCount: Int, halfLife: Double, sharpRiseDeviations: Double = 3) {
        self.halfLife = halfLife
        self.sharpRiseDeviations = sharpRiseDeviations
        rates = nil
        workRates = Array(repeating: 0, count: queueCount)
    }

    /// Folds in one tick of `interval` seconds with these arrival counts and work sums.
    /// Returns whether some queue rose sharply (count far above its Poisson expectation),
    /// in which case that queue's estimate jumps to the low end of what the count says,
    /// `count − 2 √count` (as the agent's `SmoothedRate.jump`), with the tick's mean work.
    public mutating func observe(interval: Double, arrivals: [Int], work: [Double]) -> Bool {
        guard var rates else {
            self.rates = arrivals.map { Double($0) / interval }
            workRates = work.map { $0 / interval }
            return false
        }
        let weight = 1 - Math.pow(2, -interval / halfLife)
        var sharpRise = false
        for q in rates.indices {
            let observed = Double(arrivals[q]) / interval
            let observedWork = work[q] / interval
            let expected = rates[q] * interval
            if Double(arrivals[q]) > expected + sharpRiseDeviations * max(expected, 1).squareRoot() {
                let count = Double(arrivals[q])
                rates[q] = max(rates[q], max(0, count - 2 * count.squareRoot()) / interval)
                workRates[q] = rates[q] * observedWork / max(observed, 1e-300)
                sharpRise = true
            } else {
                rates[q] += weight * (observed - rates[q])
                workRates[q] += weight * (observedWork - workRates[q])
            }
        }
        self.rates = rates
        return sharpRise
    }

    /// Mean work per request in ref-s for queue `q`, or `fallback` when nothing arrived yet.
    public func meanWork(queue q: Int, fallback: Double) -> Double {
        guard let rates, rates[q] > 0, workRates[q] > 0 else { return fallback }
        return workRates[q] / rates[q]
    }

    /// `workload` with each queue's rate and mean work replaced by the estimates.
    public func estimated(_ workload: Workload) -> Workload {
        guard let rates else { return workload }
        var w = workload
        for q in w.queues.indices {
            w.queues[q].meanWork = meanWork(queue: q, fallback: workload.queues[q].meanWork)
            w.queues[q].arrivalRate = rates[q]
        }
        return w
    }
}
