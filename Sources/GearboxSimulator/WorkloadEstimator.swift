import GearboxCore

/// Online estimates of each queue's arrival rate and mean work, as the agent forms them
/// (docs/model.md, "Estimating the inputs online"): exponentially weighted moving averages with
/// a half-life, fed once per tick with that tick's arrival count and work.
public struct WorkloadEstimator: Hashable, Sendable {
    /// Smoothed arrivals per second, per queue.
    private var arrivals: [SmoothedRate]
    /// Smoothed work per second (ref-s/s), per queue; mean work is its ratio to the rate.
    private var workRates: [SmoothedRate]

    public init(queueCount: Int, halfLife: Double, sharpRiseDeviations: Double = 3) {
        arrivals = Array(repeating: SmoothedRate(halfLife: halfLife, burstDeviations: sharpRiseDeviations), count: queueCount)
        workRates = Array(repeating: SmoothedRate(halfLife: halfLife), count: queueCount)
    }

    /// Smoothed arrivals per second, per queue; nil before the first tick.
    public var rates: [Double]? {
        arrivals.first?.value == nil ? nil : arrivals.map { $0.value ?? 0 }
    }

    /// Folds in one tick of `interval` seconds with these arrival counts and work sums.
    /// Returns the queues (indices) that rose sharply (count far above its Poisson
    /// expectation); each such queue's estimate jumps to the low end of what the count says,
    /// `count − 2 √count` (`SmoothedRate.jump`), with the tick's mean work.
    public mutating func observe(interval: Double, arrivals counts: [Int], work: [Double]) -> [Int] {
        var sharpRise: [Int] = []
        for q in arrivals.indices {
            let count = Double(counts[q])
            if arrivals[q].isBurst(count: count, over: interval) {
                arrivals[q].jump(toCount: count, over: interval)
                workRates[q].reset(to: arrivals[q].value! * work[q] / max(count, 1e-300))
                sharpRise.append(q)
            } else {
                arrivals[q].add(count / interval, over: interval)
                workRates[q].add(work[q] / interval, over: interval)
            }
        }
        return sharpRise
    }

    /// Mean work per request in ref-s for queue `q`, or `fallback` when nothing arrived yet.
    public func meanWork(queue q: Int, fallback: Double) -> Double {
        guard let rate = arrivals[q].value, let workRate = workRates[q].value, rate > 0, workRate > 0 else { return fallback }
        return workRate / rate
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
