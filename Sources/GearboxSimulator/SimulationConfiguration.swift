import GearboxCore

/// How a domain realises a plan's mix of two speeds (docs/model.md, "Two-speed selection").
public enum TwoSpeedRealisation: String, Hashable, Sendable, CaseIterable {
    /// The model's: each request or subtask runs wholly at H with probability p. Each CPU
    /// picks its own speed at the start of a job, free of its domain and of switch costs:
    /// this is the idealisation the planner's formulas assume.
    case perRequest = "per-request"
    /// The agent's: the whole domain runs at H for θ of every dither period τ and at L for
    /// the rest; a speed change takes effect mid-service.
    case timeShare = "time-share"
}

/// What a domain does while its frequency changes (`cpuinfo_transition_latency`).
public enum TransitionModel: String, Hashable, Sendable, CaseIterable {
    /// The new frequency takes effect one transition latency after it was asked for; the
    /// CPUs keep running at the old one meanwhile (x86 P-state changes behave so).
    case delay
    /// The CPUs of the domain make no progress for one transition latency and draw the old
    /// frequency's power (a clock that stops while its PLL relocks): the pessimistic case.
    case stall
}

/// How the baseline governors' requests are dispatched (they make no plan of their own).
public enum BaselineDispatch: String, Hashable, Sendable, CaseIterable {
    /// The split `Planner` gives for the true rates (the oracle's), so that a comparison
    /// with gearbox differs in the frequency policy only.
    case plannedSplit = "plan"
    /// Each queue spread over its CPUs in proportion to capacity (fork-join on the most
    /// capable ones), as a load balancer that knows nothing of gearbox would.
    case capacity
}

/// Settings of the `gearbox` policy as simulated: the agent's own online estimation.
public struct GearboxPolicyConfiguration: Hashable, Sendable {
    /// Control tick in seconds: estimates are updated and a re-plan considered each tick.
    public var tick: Double = 1
    /// Half-life of the moving averages of arrival rate and work, in seconds.
    public var halfLife: Double = 10
    /// Re-plan when a queue's offered load moved by more than this fraction since the last
    /// plan (widened by Poisson noise at low rates: `ReplanPolicy`, as the agent does).
    public var hysteresis: Double = 0.10
    /// A tick's arrival count this many Poisson standard deviations above the estimate
    /// resets the estimate to the count and re-plans at once.
    public var sharpRiseDeviations: Double = 3
    /// Plan for targets this fraction shorter than the configured ones, as the agent does
    /// (its `target_headroom`, default 3 %): estimates from a few seconds of arrivals are
    /// noisy, and a plan made exactly to the target straddles it.
    public var targetHeadroom: Double = 0.03
    /// Feedback on the latency it measures (`LatencyFeedback`, as the agent does); nil: off.
    public var feedback: LatencyFeedback.Settings? = .init()
    /// The work SCV gearbox is told, per queue name, where it differs from the simulated one
    /// (a deliberately wrong model: what feedback must make up for).
    public var assumedSCV: [String: Double] = [:]
    /// Plan for over-dispersed arrivals (`ArrivalDispersion`: the index of dispersion of
    /// per-tick counts raises the work SCV planned with), as the agent does.
    public var burstAware: Bool = true
    public init() {}
}

/// Parameters of the baseline governors (docs/model.md, "Baselines in the simulator").
public struct BaselineConfiguration: Hashable, Sendable {
    /// ondemand's sampling period and up threshold.
    public var ondemandPeriod: Double = 0.010
    public var ondemandUpThreshold: Double = 0.80
    /// conservative's sampling period, step (fraction of fmax) and thresholds.
    public var conservativePeriod: Double = 0.010
    public var conservativeStep: Double = 0.05
    public var conservativeUpThreshold: Double = 0.80
    public var conservativeDownThreshold: Double = 0.20
    /// schedutil's update period (its rate limit), PELT half-life and headroom factor.
    public var schedutilPeriod: Double = 0.001
    public var schedutilHalfLife: Double = 0.032
    public var schedutilHeadroom: Double = 1.25
    public init() {}
}

/// Everything a run needs besides the platform, the workload and the policy.
public struct SimulationConfiguration: Hashable, Sendable {
    /// Measured simulated seconds, after the warm-up.
    public var duration: Double = 60
    /// Simulated seconds discarded at the start (statistics and energy are reset after it).
    public var warmUp: Double = 10
    public var seed: UInt64 = 1
    public var realisation: TwoSpeedRealisation = .timeShare
    public var transition: TransitionModel = .delay
    /// Transition latency in seconds for every domain, instead of the platform's.
    public var transitionLatency: Double?
    /// Dither period τ in seconds for every mixed domain, instead of the plan's.
    public var ditherPeriod: Double?
    /// How far, as a fraction of τ, each time-share switch lands off the exact schedule
    /// (uniformly either way; 0: exactly on it). The agent's dither thread makes switches due
    /// close together share one wake-up, so its edges land early or late by up to its slack;
    /// the exact schedule stays the reference, so the share at H over a run is still θ.
    /// At most half of τ; an edge never lands before the one just made.
    public var ditherEdgeJitter: Double = 0
    /// Fork-join k < n: when k subtasks are done, drop the request's other subtasks
    /// (queued ones are discarded, running ones aborted). Off by default: the remaining
    /// subtasks keep running, which is what coded or replicated work without cancellation does.
    public var cancelRemainingSubtasks: Bool = false
    public var baselineDispatch: BaselineDispatch = .plannedSplit
    public var planner: PlannerConfiguration = .init()
    public var gearbox: GearboxPolicyConfiguration = .init()
    public var baselines: BaselineConfiguration = .init()
    public init() {}

    /// `duration` plus `warmUp`.
    public var endTime: Double { warmUp + duration }
}

/// The frequency policy a run simulates.
public enum GovernorPolicy: Hashable, Sendable {
    /// The gearbox agent: re-plans each tick from its own online estimates via `Planner`.
    case gearbox
    /// `Planner` given the true rates, planned once.
    case oracle
    case performance, powersave, ondemand, conservative, schedutil
    /// A fixed, given plan (its splits and per-domain speeds), never re-planned.
    case fixed(Plan)

    /// Every named policy, in the order `compare` lists them.
    public static let named: [GovernorPolicy] = [
        .gearbox, .oracle, .performance, .powersave, .ondemand, .conservative, .schedutil,
    ]

    /// The kernel governors gearbox is compared with (they follow no plan).
    public var isBaseline: Bool {
        switch self {
        case .performance, .powersave, .ondemand, .conservative, .schedutil: true
        case .gearbox, .oracle, .fixed: false
        }
    }

    /// The name used on the command line and in reports.
    public var name: String {
        switch self {
        case .gearbox: "gearbox"
        case .oracle: "oracle"
        case .performance: "performance"
        case .powersave: "powersave"
        case .ondemand: "ondemand"
        case .conservative: "conservative"
        case .schedutil: "schedutil"
        case .fixed: "plan"
        }
    }

    /// The named policy called `name`, if any.
    public init?(name: String) {
        guard let p = GovernorPolicy.named.first(where: { $0.name == name }) else { return nil }
        self = p
    }
}

/// How large a run may be. A mistyped rate or duration would otherwise run for days with
/// nothing to show; beyond these a run is refused before it starts (gearboxctl says why).
/// The debug simulator serves about 1.5 million requests a second of wall time.
public enum SimulationLimits {
    /// The measured duration: a millisecond to 100,000 simulated seconds (27.8 hours).
    public static let duration = InputRange(0.001, 100_000, unit: "s")
    /// The warm-up: none to 100,000 simulated seconds.
    public static let warmUp = InputRange(0, 100_000, unit: "s")
    /// Requests (subtasks of fork-join ones counted each) a run may expect to serve.
    public static let maximumRequests = 100_000_000.0
}

extension SimulationConfiguration {
    /// Requests a run is expected to serve over warm-up and duration: each Poisson queue's
    /// rate × time, each traced queue's rows, times the subtasks per request.
    public func expectedRequests(workload: Workload, traces: [String: ArrivalTrace]) -> Double {
        workload.queues.reduce(0) { total, queue in
            let arrivals = traces[queue.name].map { Double($0.arrivals.count) } ?? queue.arrivalRate * endTime
            return total + arrivals * Double(max(1, queue.dispatch.parts))
        }
    }

    /// Refuses a duration or warm-up out of its `SimulationLimits` range, and a run expected to
    /// serve more than `SimulationLimits.maximumRequests` requests. Checks only sizes: the
    /// inputs themselves are `Simulator.validate()`'s.
    public func checkSize(workload: Workload, traces: [String: ArrivalTrace]) throws(SimulationInputError) {
        if let refusal = SimulationLimits.duration.refusal(duration) {
            throw SimulationInputError(field: "duration", message: refusal)
        }
        if let refusal = SimulationLimits.warmUp.refusal(warmUp) {
            throw SimulationInputError(field: "warm-up", message: refusal)
        }
        let requests = expectedRequests(workload: workload, traces: traces)
        guard requests <= SimulationLimits.maximumRequests else {
            throw SimulationInputError(
                field: "duration",
                message: "the run would serve about \(InputLimits.text(requests.rounded())) requests, more than the \(InputLimits.text(SimulationLimits.maximumRequests)) a run may; shorten --duration or --warm-up, or lower the rates")
        }
    }
}
