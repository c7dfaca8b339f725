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
    /// /proc/stat, kept open from tick to tick.
    let statFile: KeptOpenFile
    /// Set for a dry run from a platform file: the CPUs it names, which every sample covers
    /// (a CPU missing from /proc/stat counts as idle) and to which samples are limited.
    let platformFileCPUs: [Int]?
    /// Whether the CPUs of the platform file missing from /proc/stat were reported.
    var reportedMissingCPUs = false
    let logger: Logger

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
        statFile = sampler.statFile()
        platformFileCPUs = nil
        self.logger = logger
    }

    /// A dry run on a host without cpufreq (a VM, a container): the domains are the platform
    /// file's, the writes are logged and never made, and the busy fractions come from the
    /// host's /proc/stat for the CPUs the file names.
    public init(dryRunFrom platformFile: Platform, sampler: KernelSampler = KernelSampler(), logger: Logger) {
        let writer = DryRunFrequencyWriter(logger: logger)
        recovery = nil
        inventory = HostInventory(describedBy: platformFile)
        platform = platformFile
        let control = LibCPUFreq()
        let applier = PlanApplier(inventory: inventory, control: control, writer: writer, logger: logger)
        dither = DitherThread(applier: applier)
        self.sampler = sampler
        statFile = sampler.statFile()
        platformFileCPUs = platformFile.cpus
        self.logger = logger
    }

    /// Busy fraction of each online CPU since the previous call (first call: since boot).
    public func sampleBusyFractions() throws(KernelSampleError) -> [Int: Double] {
        let now = try sampler.sampleStat(buffer: &statBuffer, keptOpen: statFile)
        defer { previous = now }
        let busy = now.busyFractions(since: previous ?? ProcStatSnapshot(cpus: [:]).zeroed(like: now))
        guard let cpus = platformFileCPUs else { return busy }
        return coverPlatformFileCPUs(cpus, busy: busy)
    }

    /// The busy fractions of the platform file's CPUs: those /proc/stat lacks count as idle
    /// (said once), those the file does not name are left out.
    func coverPlatformFileCPUs(_ cpus: [Int], busy: [Int: Double]) -> [Int: Double] {
        let missing = cpus.filter { busy[$0] == nil }
        if !missing.isEmpty && !reportedMissingCPUs {
            reportedMissingCPUs = true
            logger.notice("CPUs \(CPUList.format(missing)) of the platform file are not in /proc/stat; they are treated as idle", metadata: [
                "gearbox.event": "platform_cpus_idle", "cpu.list": "\(CPUList.format(missing))",
            ])
        }
        var covered: [Int: Double] = [:]
        for cpu in cpus { covered[cpu] = busy[cpu] ?? 0 }
        return covered
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

    /// Writes every setting of the plan again (after a resume, or a change behind the agent's back).
    public func reapply(_ plan: Plan) async {
        dither.reapply(plan, platform: platform)
    }

    /// How each domain's frequency is set (`status`).
    public func mechanisms() async -> [String: String] {
        dither.mechanisms
    }

    /// Domains whose settings are no longer what the agent wrote.
    public func changedBehindOurBack() async -> [String] {
        dither.changedBehindOurBack()
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
