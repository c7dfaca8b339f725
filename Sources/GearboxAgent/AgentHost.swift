import GearboxCore

/// What the agent needs of the host it governs. GearboxLinux provides the real one (libcpufreq,
/// /proc/stat, the dither); `--dry-run` is the same host with a writer that only logs.
public protocol AgentHost: Sendable {
    /// Busy fraction of each online CPU since the previous call (first call: since boot).
    func sampleBusyFractions() async throws -> [Int: Double]
    /// Carries out a plan: each domain's frequencies and its dither. Faults are logged by the
    /// host and leave a domain at its last good setting; they are not thrown.
    func apply(_ plan: Plan) async
    /// Puts back the cpufreq settings found before the first write. Returns the domains that
    /// could not be put back (their saved settings stay in the state file for the next start).
    func restore() async -> [String]
    /// Each domain's last written frequency, and the domains held after a failed write.
    func state() async -> (frequencies: [String: Kilohertz], held: [String])
    /// Writes every setting of the plan again, as if nothing had been written (a resume from
    /// sleep, or a limit found changed by someone else).
    func reapply(_ plan: Plan) async
    /// Domains whose cpufreq settings are no longer what the agent wrote (read back from sysfs).
    func changedBehindOurBack() async -> [String]
    /// How each domain's frequency is set, by domain name (`status`).
    func mechanisms() async -> [String: String]
}

extension AgentHost {
    public func reapply(_ plan: Plan) async { await apply(plan) }
    public func changedBehindOurBack() async -> [String] { [] }
    public func mechanisms() async -> [String: String] { [:] }
}

/// Publishes the current plan for applications (`/run/gearbox/plan.json`).
public protocol PlanPublishing: Sendable {
    func publish(_ plan: Plan) throws
}

/// The service manager's view of the agent (systemd's sd_notify).
public protocol ServiceNotifying: Sendable {
    func ready()
    func status(_ line: String)
    func watchdog()
    func stopping()
    /// How often the watchdog must be fed; nil when no watchdog is set.
    var watchdogInterval: Duration? { get }
}
