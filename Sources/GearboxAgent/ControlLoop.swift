import GearboxConfig
import GearboxCore

/// The agent's decisions, free of I/O: it takes what was sampled on a tick and says whether a
/// new plan is due and what it is. `AgentService` feeds it and carries out what it decides.
public struct ControlLoop: Sendable {
    /// What one tick decided.
    public struct Decision: Sendable {
        /// A new plan to apply and publish, with the reason; nil keeps the current plan.
        public var newPlan: Plan?
        public var reason: String?
        /// The workload the current plan serves (estimates as of this tick).
        public var workload: Workload
    }

    public private(set) var platform: Platform
    public private(set) var configuration: AgentConfiguration
    public private(set) var currentPlan: Plan?
    public private(set) var plannedWorkload: Workload?
    private var demand: [Int: SmoothedRate] = [:]

    public init(platform: Platform, configuration: AgentConfiguration) {
        self.platform = platform
        self.configuration = configuration
    }

    var planner: Planner {
        var c = PlannerConfiguration()
        c.maxUtilization = configuration.maxUtilization
        c.maxDitherPeriod = configuration.maxDitherPeriod
        return Planner(configuration: c)
    }

    /// Each CPU's mean speed under the current plan (ref-s per second), or top speed before any.
    public func averageSpeeds() -> [Int: Double] {
        var speeds: [Int: Double] = [:]
        for domain in platform.domains {
            let planned = currentPlan?.domains.first { $0.name == domain.name }
            let speed = planned.map {
                $0.timeShareHigh * domain.speed(at: $0.high) + (1 - $0.timeShareHigh) * domain.speed(at: $0.low)
            } ?? domain.speed(at: domain.maxFrequency)
            for cpu in domain.cpus { speeds[cpu] = speed }
        }
        return speeds
    }

    /// One tick: `busy` holds each CPU's busy fraction over the last `interval` seconds
    /// (kernel-only mode; ignored when static queues are configured).
    public mutating func tick(busy: [Int: Double], interval: Double) -> Decision {
        var burst = false
        let workload: Workload
        if configuration.queues.isEmpty {
            burst = updateKernelDemand(busy: busy, interval: interval)
            let kernel = KernelDemand(requestWork: configuration.kernelRequestWork, target: configuration.kernelTarget)
            workload = kernel.workload(requestRates: demand.compactMapValues(\.value))
        } else {
            workload = Workload(queues: configuration.queues.map(\.queue))
        }
        let policy = ReplanPolicy(hysteresis: configuration.hysteresis)
        guard burst || policy.shouldReplan(planned: plannedWorkload, current: workload) else {
            return Decision(newPlan: nil, reason: nil, workload: plannedWorkload ?? workload)
        }
        let reason = currentPlan == nil ? "first plan" : burst ? "burst in demand" : "estimates moved beyond the hysteresis band"
        return adopt(workload, reason: reason)
    }

    /// Re-plans now with new settings (a reload), keeping the demand estimates.
    public mutating func reconfigure(_ configuration: AgentConfiguration, platform: Platform) -> Decision {
        self.configuration = configuration
        self.platform = platform
        let workload = configuration.queues.isEmpty ? (plannedWorkload ?? Workload(queues: [])) : Workload(queues: configuration.queues.map(\.queue))
        return adopt(workload, reason: "configuration reloaded")
    }

    private mutating func adopt(_ workload: Workload, reason: String) -> Decision {
        let plan = planner.plan(platform: platform, workload: workload)
        let changed = plan != currentPlan
        currentPlan = plan
        plannedWorkload = workload
        return Decision(newPlan: changed ? plan : nil, reason: changed ? reason : nil, workload: workload)
    }

    /// Folds busy fractions into per-CPU demand estimates, in requests per second of the
    /// configured size; true when some CPU's demand burst above its estimate.
    private mutating func updateKernelDemand(busy: [Int: Double], interval: Double) -> Bool {
        let speeds = averageSpeeds()
        let kernel = KernelDemand(requestWork: configuration.kernelRequestWork, target: configuration.kernelTarget)
        var burst = false
        for (cpu, fraction) in busy.sorted(by: { $0.key < $1.key }) {
            guard let speed = speeds[cpu] else { continue }
            let rate = kernel.requestRate(busy: fraction, speed: speed)
            var estimate = demand[cpu] ?? SmoothedRate(halfLife: configuration.smoothingHalfLife)
            if estimate.isBurst(count: rate * interval, over: interval) {
                estimate.reset(to: rate)
                burst = true
            } else {
                estimate.add(rate, over: interval)
            }
            demand[cpu] = estimate
        }
        return burst
    }
}
