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
    let dither: DitherTimer<ContinuousClock>
    let sampler: KernelSampler
    var previous: ProcStatSnapshot?
    var loop: Task<Void, Never>?

    /// Reads the host and, unless `dryRun`, first restores what a run that did not stop
    /// cleanly left behind (state file of `configuration`). `platformFile` replaces the
    /// default power for domains it describes.
    public init(
        dryRun: Bool, configuration: PlanApplier.Configuration = .init(), platformFile: Platform? = nil,
        discovery: HostDiscovery = HostDiscovery(), sampler: KernelSampler = KernelSampler(), logger: Logger
    ) throws(DiscoveryError) {
        let writer: any CPUFrequencyWriter = dryRun ? DryRunFrequencyWriter(logger: logger) : LibCPUFreq()
        recovery = dryRun ? nil : PlanApplier.recoverUncleanStop(configuration: configuration, control: discovery.control,
                                                                 writer: writer, sysfs: discovery.sysfs, logger: logger)
        inventory = try discovery.inventory()
        platform = inventory.platform(overrides: platformFile)
        let applier = PlanApplier(inventory: inventory, control: discovery.control, writer: writer,
                                  sysfs: discovery.sysfs, configuration: configuration, logger: logger)
        dither = DitherTimer(clock: ContinuousClock(), applier: applier)
        self.sampler = sampler
    }

    /// Busy fraction of each online CPU since the previous call (first call: since boot).
    public func sampleBusyFractions() throws(KernelSampleError) -> [Int: Double] {
        let now = try sampler.sample().stat
        defer { previous = now }
        return now.busyFractions(since: previous ?? ProcStatSnapshot(cpus: [:]).zeroed(like: now))
    }

    /// Carries out a plan: every domain's frequencies and dither, from one timer. Faults are
    /// logged by the applier and leave a domain at its last good setting.
    public func apply(_ plan: Plan) async {
        await dither.follow(plan, platform: platform)
        if loop == nil {
            let timer = dither
            loop = Task { await timer.run() }
        }
    }

    /// Stops the dither and puts back the settings found before the first write.
    public func restore() async {
        loop?.cancel()
        await loop?.value
        loop = nil
        await dither.restore()
    }

    /// Each domain's last written frequency, and the domains held after a failed write.
    public func state() async -> (frequencies: [String: Kilohertz], held: [String]) {
        (await dither.frequencies, await dither.heldDomains)
    }
}

extension ProcStatSnapshot {
    /// A snapshot with the same CPUs and every counter 0: deltas from it are totals since boot.
    func zeroed(like other: ProcStatSnapshot) -> ProcStatSnapshot {
        ProcStatSnapshot(cpus: other.cpus.mapValues { _ in CPUTimes(user: 0, nice: 0, system: 0, idle: 0) })
    }
}
