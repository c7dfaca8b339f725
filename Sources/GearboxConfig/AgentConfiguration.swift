import GearboxCore

/// The agent's settings, read from `/etc/gearbox/gearbox.toml` (`configs/gearbox.toml` documents
/// every key and its default). Every field has a default, so gearboxd runs with no file at all.
public struct AgentConfiguration: Hashable, Sendable {
    /// Control-loop period.
    public var tick: Duration = .seconds(1)
    /// Upper bound on the dither period τ (docs/model.md: min(50 ms, 5 × shortest mean service time)).
    public var maxDitherPeriod: Double = 0.050
    /// The most frequency switches per second the host's two-speed mixes may make together
    /// (docs/model.md, "A budget of switches"); nil: no cap, the switching price decides.
    public var maxSwitchRate: Double?
    /// Highest utilisation a plan may give a CPU.
    public var maxUtilization: Double = 0.95
    /// Half-life of the EWMA that smooths arrival rates and work, in seconds.
    public var smoothingHalfLife: Double = 10
    /// Re-plan when a smoothed estimate moves by more than this fraction since the last plan.
    public var hysteresis: Double = 0.10
    /// Plan every queue for its target shortened by this fraction: the estimates are noisy
    /// and a plan made exactly to a target straddles it (the simulator measured +0.3 to
    /// +2 % over target at 0, every target met at 3 %).
    public var targetHeadroom: Double = 0.03
    /// Optional platform file with power tables; otherwise sysfs with the parametric defaults.
    public var platformFile: String?
    /// Where the original cpufreq settings are saved before the first write.
    public var stateDirectory: String = "/var/lib/gearbox"
    /// Where the current plan is published (atomically), same shape as `gearboxctl plan --json`.
    public var planFile: String = "/run/gearbox/plan.json"
    /// Kernel-only mode: typical request size in ref-s and the latency target of per-CPU queues.
    public var kernelRequestWork: Double = 0.002
    public var kernelTarget = LatencyTarget(kind: .mean, seconds: 0.020)
    /// Control socket path, its mode, and the group allowed to change policy (root always may).
    public var controlSocket: String = "/run/gearbox/control.sock"
    public var controlSocketMode: Int = 0o666
    public var controlGroup: String? = "gearbox"
    /// Prometheus textfile-collector output; nil disables metrics.
    public var metricsFile: String?
    /// Queues; none means kernel-only mode.
    public var queues: [AgentQueue] = []
    /// Power profiles, power source and the power-profiles D-Bus API (`[profile]`).
    public var profiles = ProfileConfiguration()

    public init() {}
}

/// A queue the agent serves: the workload-file fields plus where its live statistics come from.
public struct AgentQueue: Hashable, Sendable {
    public var queue: WorkQueue
    /// nil: fixed rates as written (a static queue).
    public var source: QueueSource?
    /// The service the agent confines to the queue's planned CPUs; nil: the split is only published.
    public var confinement: QueueConfinement?

    public init(queue: WorkQueue, source: QueueSource? = nil, confinement: QueueConfinement? = nil) {
        self.queue = queue
        self.source = source
        self.confinement = confinement
    }
}

/// Where a live queue's counters are read: a Prometheus text-format endpoint or file.
public struct QueueSource: Hashable, Sendable {
    public enum Location: Hashable, Sendable {
        case http(String)
        case file(String)
    }
    public var location: Location
    public var arrivals: String
    public var completions: String?
    /// Busy-seconds counter, or nil when a histogram gives service time.
    public var busySeconds: String?
    /// A histogram whose `_sum`/`_count` give service (or response) time.
    public var histogram: String?
    public var labels: [String: String]

    public init(location: Location, arrivals: String, completions: String? = nil, busySeconds: String? = nil,
                histogram: String? = nil, labels: [String: String] = [:]) {
        self.location = location
        self.arrivals = arrivals
        self.completions = completions
        self.busySeconds = busySeconds
        self.histogram = histogram
        self.labels = labels
    }
}
