import GearboxCore

/// A discrete-event simulation of a host (platform) serving a workload under a frequency
/// policy (docs/model.md). Pure and seeded: the same inputs give the same result, bit for bit.
public struct Simulator: Sendable {
    public var platform: Platform
    public var workload: Workload
    public var configuration: SimulationConfiguration
    /// Recorded arrivals replayed instead of Poisson ones, by queue name.
    public var traces: [String: ArrivalTrace]
    /// The plan `Planner` makes for the true rates (the oracle's plan and the baselines'
    /// split). Runs compute it when nil; set it with `withReferencePlan()` to plan once for
    /// many runs.
    public var referencePlan: Plan?

    public init(
        platform: Platform, workload: Workload, configuration: SimulationConfiguration = .init(),
        traces: [String: ArrivalTrace] = [:]
    ) {
        self.platform = platform
        self.workload = workload
        self.configuration = configuration
        self.traces = traces
    }

    /// Simulates `policy` for the configured warm-up and duration. `progress` is told the
    /// fraction of simulated time done, about every 1 %.
    public func run(policy: GovernorPolicy, progress: ((Double) -> Void)? = nil) -> SimulationResult {
        var engine = SimulationEngine(
            platform: platform, workload: workload, configuration: configuration,
            traces: traces, policy: policy, referencePlan: referencePlan)
        return engine.run(progress: progress)
    }

    /// This simulator with `referencePlan` computed, so that runs share one planner call.
    public func withReferencePlan() -> Simulator {
        var s = self
        s.referencePlan = Planner(configuration: configuration.planner).plan(platform: platform, workload: workload)
        return s
    }

    /// Checks what the engine relies on; call before `run` on inputs not yet validated.
    public func validate() throws(SimulationInputError) {
        guard configuration.duration > 0, configuration.duration.isFinite else {
            throw SimulationInputError(field: "duration", message: "must be a positive number of seconds")
        }
        guard configuration.warmUp >= 0, configuration.warmUp.isFinite else {
            throw SimulationInputError(field: "warm-up", message: "must be a non-negative number of seconds")
        }
        guard !platform.domains.isEmpty else {
            throw SimulationInputError(field: "domain", message: "the platform has no frequency domain")
        }
        var seen = Set<Int>()
        for d in platform.domains {
            guard !d.operatingPoints.isEmpty, !d.cpus.isEmpty else {
                throw SimulationInputError(field: "domain \(d.name)", message: "needs CPUs and operating points")
            }
            guard d.capacity > 0, d.operatingPoints.allSatisfy({ $0.frequency.value > 0 }) else {
                throw SimulationInputError(field: "domain \(d.name)", message: "capacity and frequencies must be positive")
            }
            for cpu in d.cpus where !seen.insert(cpu).inserted {
                throw SimulationInputError(field: "domain \(d.name)", message: "CPU \(cpu) is in two domains")
            }
        }
        for q in workload.queues { try validate(q, platformCPUs: seen) }
    }

    private func validate(_ q: WorkQueue, platformCPUs: Set<Int>) throws(SimulationInputError) {
        let field = "queue \(q.name)"
        guard q.arrivalRate >= 0, q.arrivalRate.isFinite else {
            throw SimulationInputError(field: "\(field): arrival_rate", message: "must be a non-negative number")
        }
        guard q.meanWork > 0, q.meanWork.isFinite else {
            throw SimulationInputError(field: "\(field): mean_work_ms", message: "must be positive")
        }
        guard q.scv >= 0, q.scv.isFinite else {
            throw SimulationInputError(field: "\(field): scv", message: "must be non-negative")
        }
        let allowed = q.allowedCPUs(on: platform)
        guard !allowed.isEmpty else {
            throw SimulationInputError(field: "\(field): cpus", message: "no CPU to run on")
        }
        if let unknown = allowed.first(where: { !platformCPUs.contains($0) }) {
            throw SimulationInputError(field: "\(field): cpus", message: "CPU \(unknown) is not on the platform")
        }
        if case .forkJoin(let n, let k) = q.dispatch {
            guard n >= 1, n <= allowed.count, k >= 1, k <= n else {
                throw SimulationInputError(
                    field: "\(field): parts", message: "needs 1 ≤ needed ≤ parts ≤ \(allowed.count) CPUs")
            }
        }
    }
}

/// Input the simulator cannot run: names the field.
public struct SimulationInputError: Error, Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}
