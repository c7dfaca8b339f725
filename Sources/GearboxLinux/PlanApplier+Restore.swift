#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import GearboxCore
import Logging

extension PlanApplier {
    /// Saves every domain's governor and limits before the first write (not for a dry run).
    /// A file left by an unclean stop is restored first, so its originals are not lost.
    /// False when the snapshot cannot be saved: then nothing is written.
    mutating func saveSnapshotIfNeeded() -> Bool {
        guard writer.changesHardware, snapshot == nil else { return true }
        let outcome = Self.recoverUncleanStop(configuration: configuration, control: control, writer: writer,
                                              sysfs: sysfs, logger: logger)
        if case .failed = outcome { return false }
        if case .heldByRunningProcess = outcome { return false }
        var domains: [PolicySnapshot.Domain] = []
        for i in lanes.indices {
            let cpu = lanes[i].writeCPU
            guard let policy = control.policy(cpu: cpu) else {
                let error = sysfs.diagnosePolicy(cpu: cpu)
                log(key: "\(lanes[i].name)/snapshot", "cannot read \(lanes[i].name)'s policy to save it: \(error); not touching it",
                    ["cpufreq.domain": "\(lanes[i].name)", "cpu.id": "\(cpu)"])
                lanes[i].held = true
                continue
            }
            lanes[i].limits = (policy.minimum, policy.maximum)
            domains.append(PolicySnapshot.Domain(
                name: lanes[i].name, cpus: lanes[i].cpus, governor: policy.governor, minimum: policy.minimum,
                maximum: policy.maximum, setspeed: policy.governor == "userspace" ? sysfs.setspeed(of: cpu) : nil))
        }
        var taken = PolicySnapshot(clean: false, pid: getpid(), bootID: PolicyStateFile.currentBootID(), domains: domains)
        let tunables = energyPreferences.originals(isOnline: sysfs.isOnline)
        if !tunables.isEmpty { taken.tunables = tunables }
        do {
            try configuration.stateFile.save(taken)
        } catch {
            log(key: "state-file", "cannot save the original cpufreq settings: \(error); writing nothing",
                ["gearbox.state_file": "\(configuration.stateFile.path)"], level: .error)
            return false
        }
        snapshot = taken
        return true
    }

    /// Puts every saved domain back to its original governor and limits and marks the state
    /// file clean. Returns the domains that could not be restored (the file then stays
    /// unclean, so the next start tries again).
    @discardableResult
    public mutating func restore() -> [String] {
        guard writer.changesHardware, let taken = snapshot else { return [] }
        let failed = Self.restore(taken, control: control, writer: writer, sysfs: sysfs, logger: logger)
        if failed.isEmpty {
            var done = taken
            done.clean = true
            try? configuration.stateFile.save(done)
            snapshot = nil
            for i in lanes.indices {
                lanes[i].frequency = nil
                lanes[i].governorSet = false
            }
        }
        return failed
    }

    /// What `recoverUncleanStop` found and did.
    public enum RecoveryOutcome: Hashable, Sendable {
        /// No state file, or one from a clean stop.
        case nothingToRestore
        /// The file is from an earlier boot: the kernel started afresh, nothing to write.
        case staleFromEarlierBoot
        /// The process that wrote the file is still running: it owns the settings.
        case heldByRunningProcess(pid: Int32)
        /// The saved settings were written back.
        case restored(domains: [String])
        /// The file could not be read, or some domains could not be restored.
        case failed(String)
    }

    /// At start: if the state file shows a run that did not stop cleanly, restores what it
    /// saved and marks it clean.
    public static func recoverUncleanStop(
        configuration: Configuration = Configuration(), control: any CPUFrequencyControl = LibCPUFreq(),
        writer: any CPUFrequencyWriter = LibCPUFreq(), sysfs: CPUSysfs = CPUSysfs(), logger: Logger
    ) -> RecoveryOutcome {
        let file = configuration.stateFile
        let found: PolicySnapshot?
        do {
            found = try file.load()
        } catch {
            logger.error("cannot read the cpufreq state file: \(error)", metadata: ["gearbox.state_file": "\(file.path)"])
            return .failed(error.description)
        }
        guard var taken = found, !taken.clean else { return .nothingToRestore }
        if let saved = taken.bootID, let now = PolicyStateFile.currentBootID(), saved != now {
            taken.clean = true
            try? file.save(taken)
            return .staleFromEarlierBoot
        }
        if taken.pid != getpid() && kill(taken.pid, 0) == 0 {
            logger.error("gearbox process \(taken.pid) still holds the cpufreq settings; not restoring them",
                         metadata: ["gearbox.state_file": "\(file.path)"])
            return .heldByRunningProcess(pid: taken.pid)
        }
        logger.notice("restoring cpufreq settings left by a run that did not stop cleanly (pid \(taken.pid))",
                      metadata: ["gearbox.state_file": "\(file.path)", "gearbox.event": "restore"])
        let failed = restore(taken, control: control, writer: writer, sysfs: sysfs, logger: logger)
        guard failed.isEmpty else { return .failed("could not restore \(failed.joined(separator: ", "))") }
        taken.clean = true
        do { try file.save(taken) } catch { return .failed(error.description) }
        return .restored(domains: taken.domains.map(\.name))
    }

    /// Writes each saved domain back: limits (ordered so min ≤ max), then the governor, then
    /// setspeed when the original governor was userspace. Only values that differ are written.
    static func restore(
        _ taken: PolicySnapshot, control: any CPUFrequencyControl, writer: any CPUFrequencyWriter,
        sysfs: CPUSysfs, logger: Logger
    ) -> [String] {
        var failed: [String] = []
        for domain in taken.domains {
            let metadata: Logger.Metadata = ["cpufreq.domain": "\(domain.name)", "gearbox.event": "restore"]
            guard let cpu = domain.cpus.first(where: { sysfs.isOnline($0) && sysfs.hasCPUFreq($0) }),
                  let current = control.policy(cpu: cpu) else {
                logger.error("cannot restore \(domain.name): none of CPUs \(CPUList.format(domain.cpus)) is online with a readable policy",
                             metadata: metadata)
                failed.append(domain.name)
                continue
            }
            do throws(CPUFreqError) {
                try moveLimits(to: (domain.minimum, domain.maximum), from: (current.minimum, current.maximum),
                               cpu: cpu, writer: writer)
                if current.governor != domain.governor { try writer.setGovernor(domain.governor, cpu: cpu) }
                if let speed = domain.setspeed, sysfs.setspeed(of: cpu) != speed { try writer.setSpeed(speed, cpu: cpu) }
            } catch {
                logger.error("cannot restore \(domain.name): \(error)", metadata: metadata)
                failed.append(domain.name)
            }
        }
        if !EnergyPreferenceActuator.restore(taken.tunables ?? [:], logger: logger).isEmpty {
            failed.append("energy preferences and boost")
        }
        return failed
    }
}
