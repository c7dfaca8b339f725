/// Decides whether new estimates differ enough from those of the current plan to re-plan:
/// re-planning every tick would make the frequencies chatter with sampling noise.
///
/// Shared by the agent and the simulator's gearbox policy, so that what is simulated is what
/// runs. The band is the configured fraction, widened at low rates to `noiseDeviations`
/// standard deviations of the smoothed estimate of a Poisson count: an EWMA of half-life H
/// over a rate λ has relative standard deviation `1 / sqrt(2 λ H / ln 2)` (about 6 % at
/// 10 requests per second and H = 10 s, where a fixed 5 % band re-plans about every tick).
public struct ReplanPolicy: Sendable {
    /// Relative change of a queue's offered load (rate × work) that triggers a new plan.
    public var hysteresis: Double
    /// Half-life of the estimates' moving average in seconds; nil: no noise widening.
    public var smoothingHalfLife: Double?
    public var noiseDeviations: Double

    public init(hysteresis: Double, smoothingHalfLife: Double? = nil, noiseDeviations: Double = 3) {
        self.hysteresis = hysteresis
        self.smoothingHalfLife = smoothingHalfLife
        self.noiseDeviations = noiseDeviations
    }

    /// The relative band for a queue planned at `rate` requests per second.
    public func band(rate: Double) -> Double {
        guard let halfLife = smoothingHalfLife, halfLife > 0, rate > 0 else { return hysteresis }
        let relativeDeviation = 1 / (2 * rate * halfLife / Math.log(2)).squareRoot()
        return max(hysteresis, noiseDeviations * relativeDeviation)
    }

    public func shouldReplan(planned: Workload?, current: Workload) -> Bool {
        guard let planned else { return true }
        let before = Dictionary(planned.queues.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard before.count == current.queues.count else { return true }
        for queue in current.queues {
            guard let old = before[queue.name], old.target == queue.target, old.cpus == queue.cpus else { return true }
            let oldLoad = old.arrivalRate * old.meanWork
            let newLoad = queue.arrivalRate * queue.meanWork
            if abs(newLoad - oldLoad) > band(rate: old.arrivalRate) * max(oldLoad, 1e-9) { return true }
        }
        return false
    }
}
