/// What a latency guarantee bounds: the mean response time or a percentile of it.
public enum LatencyKind: String, Hashable, Sendable, CaseIterable {
    case mean, p95, p99

    /// The percentile as a probability (0.95, 0.99); nil for the mean.
    public var quantile: Double? {
        switch self {
        case .mean: nil
        case .p95: 0.95
        case .p99: 0.99
        }
    }
}

/// A latency guarantee: response time (mean or percentile) at most `seconds`.
public struct LatencyTarget: Hashable, Sendable {
    public var kind: LatencyKind
    public var seconds: Double
    public init(kind: LatencyKind, seconds: Double) {
        self.kind = kind
        self.seconds = seconds
    }
    public var milliseconds: Double { seconds * 1000 }
}

/// How a queue's requests reach CPUs (docs/model.md, "Workload").
public enum Dispatch: Hashable, Sendable {
    /// Each request runs whole on one CPU chosen with the plan's split.
    case route
    /// Each request forks into `parts` subtasks on distinct CPUs and completes when `needed` finish.
    case forkJoin(parts: Int, needed: Int)
}

/// A stream of requests with a latency guarantee.
public struct WorkQueue: Hashable, Sendable {
    public var name: String
    /// Arrivals per second (Poisson).
    public var arrivalRate: Double
    /// Mean work per request in reference-seconds.
    public var meanWork: Double
    /// Squared coefficient of variation of work (1 = exponential).
    public var scv: Double
    public var target: LatencyTarget
    /// CPUs the queue may use; nil means every CPU of the platform.
    public var cpus: [Int]?
    public var dispatch: Dispatch
    /// Which queues an overloaded plan keeps first: higher is kept longer (default 0).
    public var priority: Int = 0
    /// Served by a service confined to a set of CPUs, within which the kernel balances its
    /// threads (docs/model.md, "Pools"): its split can only be a set of CPUs with shares
    /// following each CPU's speed. Route queues only.
    public var confined = false

    public init(
        name: String, arrivalRate: Double, meanWork: Double, scv: Double = 1,
        target: LatencyTarget, cpus: [Int]? = nil, dispatch: Dispatch = .route
    ) {
        self.name = name
        self.arrivalRate = arrivalRate
        self.meanWork = meanWork
        self.scv = scv
        self.target = target
        self.cpus = cpus
        self.dispatch = dispatch
    }

    /// The CPUs this queue may use on `platform`, ascending.
    public func allowedCPUs(on platform: Platform) -> [Int] {
        (cpus ?? platform.cpus).sorted()
    }
}

/// The queues a plan must serve.
public struct Workload: Hashable, Sendable {
    public var queues: [WorkQueue]
    public init(queues: [WorkQueue]) { self.queues = queues }
}
