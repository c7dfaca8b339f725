import GearboxCore

/// Measured response times of one queue over the measured part of a run.
public struct QueueOutcome: Hashable, Sendable {
    /// Batches the measured window is cut into for confidence intervals.
    public static let batchCount = 10

    public var name: String
    public var target: LatencyTarget
    /// Requests that arrived after the warm-up (the same for every policy of one seed).
    public var arrived: Int
    /// Requests that arrived after the warm-up and completed before the end.
    public var completed: Int
    /// Response-time statistics in seconds.
    public var histogram: LatencyHistogram
    /// The target's statistic (mean, p95 or p99) of each arrival batch, in seconds.
    public var batchValues: [Double]

    public init(name: String, target: LatencyTarget, arrived: Int, batches: [LatencyHistogram]) {
        self.name = name
        self.target = target
        self.arrived = arrived
        var all = LatencyHistogram()
        for b in batches { all.merge(b) }
        histogram = all
        completed = all.count
        batchValues = batches.map { QueueOutcome.statistic(target.kind, of: $0) }
    }

    static func statistic(_ kind: LatencyKind, of h: LatencyHistogram) -> Double {
        switch kind {
        case .mean: h.mean
        case .p95: h.quantile(0.95)
        case .p99: h.quantile(0.99)
        }
    }

    public var mean: Double { histogram.mean }
    public var p95: Double { histogram.quantile(0.95) }
    public var p99: Double { histogram.quantile(0.99) }

    /// The measured latency of the target's kind, in seconds.
    public var measured: Double { QueueOutcome.statistic(target.kind, of: histogram) }

    /// Half-width in seconds of the 95 % confidence interval of `measured`, from the spread
    /// of the batch values (Student's t, 9 degrees of freedom); NaN when a batch is empty.
    public var halfWidth: Double {
        let values = batchValues
        guard values.allSatisfy(\.isFinite) else { return .nan }
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        return 2.262 * (variance / n).squareRoot()
    }

    /// Whether the measured latency is within the target (false when nothing completed).
    public var met: Bool { completed > 0 && measured <= target.seconds }

    /// Whether the target lies inside the 95 % interval: the run cannot tell met from missed.
    public var undecided: Bool { abs(measured - target.seconds) <= halfWidth }
}

/// What one frequency domain did.
public struct DomainOutcome: Hashable, Sendable {
    public var name: String
    /// Frequency changes actually applied (each is a sysfs write for the agent).
    public var switches: Int
    /// Mean frequency while its CPUs were busy, in kHz (0 when never busy).
    public var meanBusyKilohertz: Double
    /// What the switches cost (`ActuationCost`), in joules.
    public var actuationJoules: Double
}

/// What one CPU did.
public struct CPUOutcome: Hashable, Sendable {
    public var cpu: Int
    /// Busy fraction of the measured time.
    public var utilization: Double
    public var energyJoules: Double
}

/// The outcome of one simulated run.
public struct SimulationResult: Hashable, Sendable {
    public var policy: String
    public var realisation: TwoSpeedRealisation
    /// Measured seconds (the warm-up excluded).
    public var duration: Double
    /// The CPUs' energy plus what the frequency switches cost (`actuationJoules`).
    public var energyJoules: Double
    /// The part of `energyJoules` the frequency switches cost (`ActuationCost`).
    public var actuationJoules: Double
    public var queues: [QueueOutcome]
    public var domains: [DomainOutcome]
    public var cpus: [CPUOutcome]
    /// Events processed over the whole run, warm-up included.
    public var events: Int
    /// Plans installed over the whole run (gearbox re-plans; 1 for oracle and fixed plans).
    public var plans: Int
    /// Whether the last plan installed said it was feasible (nil for baselines).
    public var lastPlanFeasible: Bool?
    /// gearbox's feedback (empty without it): per queue, the planning target over the real
    /// one at the end, the smallest it reached, and how often it moved.
    public var feedback: [String: LatencyFeedback.Correction] = [:]
    /// Every move of the feedback (the first `FeedbackMove.limit`), in time order.
    public var feedbackMoves: [FeedbackMove] = []

    /// Mean host power over the measured time.
    public var power: Watts { Watts(duration > 0 ? energyJoules / duration : 0) }

    /// Whether every queue met its target.
    public var allTargetsMet: Bool { queues.allSatisfy(\.met) }
}
