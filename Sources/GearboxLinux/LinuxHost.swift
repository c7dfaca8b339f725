import GearboxCore
import Logging

/// The host as the agent drives it: discovery, the applier behind one dither timer, and
/// /proc/stat sampling. Its methods match GearboxAgent's `AgentHost`, so the agent conforms it
/// with an empty extension.
public actor LinuxHost {
    /// What was found at start.
    public nonisolated let inventory: HostInventory
    /// The planner's view of the host (default power model unless a platform file was given).
    public nonisolated let platform: Platform
    /// What the start-up recovery found (nil for a dry run, which writes nothing).
    public nonisolated let recovery: PlanApplier.RecoveryOutcome?
    let dither: DitherThread
    let sampler: KernelSampler
    var previous: ProcStatSnapshot?
    /// /proc/stat's bytes, read into the same storage every tick.
    var statBuffer: [UInt8] = []

    /// Reads the host and, unless `dryRun`, first restores what a run that did not stop
    /// cleanly left behind (state file of `configuration`). `platformFile` replaces the
    /// default power for domains it describes.
    public init(
        dryRun: Bool, configuration: PlanApplier.Configuration = .init(), platformFile: Platform? = nil,
        discovery: HostDiscovery = HostDiscovery(), sampler: KernelSampler = KernelSampler(), logger: Logger
    ) throws(DiscoveryError) {
        let writer: any CPUFrequencyWriter = dryRun ? DryRunFrequencyWriter(logger: logger) : KeptOpenFrequencyWriter(sysfs: discovery.sysfs)
        recovery = dryRun ? nil : PlanApplier.recoverUncleanStop(configuration: configuration, control: discovery.control,
                                                                 writer: writer, sysfs: discovery.sysfs, logger: logger)
        inventory = try discovery.inventory()
        platform = inventory.platform(overrides: platformFile)
        let applier = PlanApplier(inventory: inventory, control: discovery.control, writer: writer,
                                  sysfs: discovery.sysfs, configuration: configuration, logger: logger)
        dither = DitherThread(applier: applier)
        self.sampler = sampler
    }

    /// Busy fraction of each online CPU since the previous call (first call: since boot).
    public func sampleBusyFractions() throws(KernelSampleError) -> [Int: Double] {
        let now = try sampler.sampleStat(buffer: &statBuffer)
        defer { previous = now }
        return now.busyFractions(since: previous ?? ProcStatSnapshot(cpus: [:]).zeroed(like: now))
    }

    /// Carries out a plan: every domain's frequencies and dither, from one thread (`DitherThread`).
    /// Faults are logged by the applier and leave a domain at its last good setting.
    public func apply(_ plan: Plan) async {
        dither.follow(plan, platform: platform)
    }

    /// Stops the dither and puts back the settings found before the first write. Returns the
    /// domains that could not be put back.
    public func restore() async -> [String] {
        dither.restore()
    }

    /// Each domain's last written frequency, and the domains held after a failed write.
    public func state() async -> (frequencies: [String: Kilohertz], held: [String]) {
        (dither.frequencies, dither.heldDomains)
    }
}

extension ProcStatSnapshot {
    /// A snapshot with the same CPUs and every counter 0: deltas from it are totals since boot.
    func zeroed(like other: ProcStatSnapshot) -> ProcStatSnapshot {
        ProcStatSnapshot(cpus: other.cpus.mapValues { _ in CPUTimes(user: 0, nice: 0, system: 0, idle: 0) })
    }
}
