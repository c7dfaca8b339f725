/// Decides whether new estimates differ enough from those of the current plan to re-plan:
/// re-planning every tick would make the frequencies chatter with sampling noise.
///
/// Asymmetric, as an operator expects of a governor (up fast, down slow): a plan is kept
/// while its load moves less than the band, *unless* the current estimates would make it
/// spend more than half of the target headroom. Near saturation a 1 % rise in load adds
/// several percent of latency, so a load band alone would sit on a plan that misses.
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
    /// A re-plan of some parts of the host also plans anew every queue whose load moved by
    /// more than this fraction of its band (`queuesToReplan`): a queue near the edge of its
    /// band would otherwise bring the next re-plan soon after. On the 96-CPU benchmark host
    /// half the band re-planned half again as often as a whole-host re-plan does, a quarter
    /// as often.
    public var refreshFraction = 0.25

    public init(hysteresis: Double, smoothingHalfLife: Double? = nil, noiseDeviations: Double = 3) {
        self.hysteresis = hysteresis
        self.smoothingHalfLife = smoothingHalfLife
        self.noiseDeviations = noiseDeviations
    }

    /// Relative standard deviation of the smoothed rate estimate at `rate` (0 without a half-life).
    public func noise(rate: Double) -> Double {
        guard let halfLife = smoothingHalfLife, halfLife > 0, rate > 0 else { return 0 }
        return 1 / (2 * rate * halfLife / Math.log(2)).squareRoot()
    }

    /// `current` with each queue's rise in rate and in work per request over the planned
    /// values reduced by two standard deviations of estimate noise (the mean of work over
    /// the same requests has `sqrt(scv)` times the rate's relative deviation), so that noise
    /// alone does not re-plan.
    func discounted(_ current: Workload, planned: Workload?) -> Workload {
        guard let planned else { return current }
        var out = current
        // The queues are almost always in the planned order: look there first, by name only
        // when it differs (a search per queue would be quadratic in queues, every tick).
        let sameOrder = Self.sameNames(planned.queues, current.queues)
        let byName = sameOrder ? [:] : Dictionary(planned.queues.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for q in out.queues.indices {
            guard let old = sameOrder ? planned.queues[q] : byName[out.queues[q].name] else { continue }
            let deviation = noise(rate: old.arrivalRate)
            out.queues[q].arrivalRate = Self.discount(out.queues[q].arrivalRate, from: old.arrivalRate, by: 2 * deviation)
            out.queues[q].meanWork = Self.discount(out.queues[q].meanWork, from: old.meanWork, by: 2 * deviation * old.scv.squareRoot())
        }
        return out
    }

    /// `value` less `fraction` of it, but not below `planned` (falls are kept as they are).
    static func discount(_ value: Double, from planned: Double, by fraction: Double) -> Double {
        value > planned ? max(planned, value * (1 - fraction)) : value
    }

    /// `estimate` with each queue's rate and mean work raised by one standard deviation of
    /// its estimate noise: what to plan for. A plan for the bare estimate misses whenever
    /// the estimate runs low, which at 20 requests per second (4 % noise on rate and on
    /// work) happens often enough to show in a 10-minute run; at high rates this adds
    /// almost nothing. Queues named in `exact` are configured, not estimated, and stay.
    public func plannable(_ estimate: Workload, exact: Set<String> = []) -> Workload {
        var out = estimate
        for q in out.queues.indices where !exact.contains(out.queues[q].name) {
            let deviation = noise(rate: out.queues[q].arrivalRate)
            out.queues[q].arrivalRate *= 1 + deviation
            out.queues[q].meanWork *= 1 + deviation * out.queues[q].scv.squareRoot()
        }
        return out
    }

    /// The relative band for a queue planned at `rate` requests per second.
    public func band(rate: Double) -> Double {
        max(hysteresis, noiseDeviations * noise(rate: rate))
    }

    /// True when the estimates left the band, or when `plan` (made with `headroom`) under
    /// the current estimates predicts some queue beyond its target less half the headroom.
    public func shouldReplan(
        planned: Workload?, current: Workload, plan: Plan?, platform: Platform,
        configuration: PlannerConfiguration, headroom: Double
    ) -> Bool {
        if shouldReplan(planned: planned, current: current) { return true }
        // An infeasible plan already runs flat out: re-planning each tick would change nothing.
        guard let plan, plan.feasible else { return false }
        let prediction = LatencyModel.predict(
            platform: platform, workload: discounted(current, planned: planned), plan: plan, configuration: configuration)
        return prediction.queues.contains { $0.latency > $0.target.seconds * (1 - headroom / 2) }
    }

    /// True when the queues changed or some queue's offered load left the band.
    public func shouldReplan(planned: Workload?, current: Workload) -> Bool {
        guard let planned else { return true }
        // The agent keeps its queues in one order, so they line up by position (checked every
        // tick on hosts of a hundred queues: no dictionary of names then).
        // By index, not by zip: zipping copies every queue (its name, CPUs and target) twice a tick.
        if Self.sameNames(planned.queues, current.queues) {
            return current.queues.indices.contains { !staysInBand(planned: planned.queues[$0], current: current.queues[$0]) }
        }
        let before = Dictionary(planned.queues.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard before.count == current.queues.count else { return true }
        for queue in current.queues {
            guard let old = before[queue.name], staysInBand(planned: old, current: queue) else { return true }
        }
        return false
    }

    /// Whether the two lists name the same queues in the same order.
    static func sameNames(_ a: [WorkQueue], _ b: [WorkQueue]) -> Bool {
        a.count == b.count && a.indices.allSatisfy { a[$0].name == b[$0].name }
    }

    /// The same target and CPUs, and an offered load inside the planned one's band.
    func staysInBand(planned old: WorkQueue, current queue: WorkQueue) -> Bool {
        guard old.target == queue.target, old.cpus == queue.cpus else { return false }
        let oldLoad = old.arrivalRate * old.meanWork
        let newLoad = queue.arrivalRate * queue.meanWork
        return !(abs(newLoad - oldLoad) > band(rate: old.arrivalRate) * max(oldLoad, 1e-9))
    }
}
