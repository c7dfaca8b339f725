import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import CGearboxdStartup
import GearboxAgent
import GearboxConfig
import GearboxCore
import GearboxLinux
import Logging
import ServiceLifecycle

extension JournalLogging.Destination: ExpressibleByArgument {}

/// gearboxd: the per-host agent. Reads the host, plans, applies, logs to journald.
@main
struct Gearboxd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gearboxd",
        abstract: "The gearbox agent: energy-aware CPU frequency governing under latency targets.",
        discussion: """
            Runs as a systemd service (Type=notify). SIGHUP re-reads the configuration; SIGTERM \
            and SIGINT restore the original cpufreq settings and exit 0, or 1 when a setting \
            could not be put back (the state file then stays, and the next start or \
            `gearboxd --restore` tries again). Settings left by a run that did not stop cleanly \
            are restored first, from the state file alone, before the configuration is read.
            """,
        version: GearboxVersion.string
    )

    static let defaultConfigPath = "/etc/gearbox/gearbox.toml"

    @Option(help: ArgumentHelp("Configuration file. Missing default file: built-in defaults.", valueName: "file"))
    var config: String = Gearboxd.defaultConfigPath

    @Flag(help: "Read and plan, write nothing to sysfs: log each write it would make. Runs as any user.")
    var dryRun = false

    @Flag(help: "One plan, applied (or dry), then exit. Mixed domains get their higher frequency, since no dither runs after exit; `gearboxd --restore` or the next start puts the original settings back.")
    var once = false

    @Flag(help: "Put back the cpufreq settings saved by a run that did not stop cleanly, then exit: 0 when they are back (or nothing was left), 1 when some could not be restored. Needs nothing of the configuration but its state_directory, and works when the rest of the file is invalid.")
    var restore = false

    @Option(help: ArgumentHelp("Platform file (as `gearboxctl inspect --toml` writes): replaces the config's platform_file. With --dry-run on a host without cpufreq (a VM, a container), the agent plans from this file alone.", valueName: "file"))
    var platform: String?

    @Option(help: "Where logs go: journald, stderr or automatic (journald when its socket answers).")
    var logTo: JournalLogging.Destination = .automatic

    func validate() throws {
        if restore && (once || dryRun) { throw ValidationError("--restore stands alone") }
    }

    func run() async throws {
        EarlyStopSignal.install()
        // One malloc arena, set before main by CGearboxdStartup (referenced so it is linked).
        _ = gearboxd_single_malloc_arena()
        JournalLogging.bootstrap(destination: logTo, identifier: "gearboxd")
        let logger = Logger(label: "gearboxd")
        if !dryRun {
            let recovered = Self.recoverUncleanStop(configPath: config, logger: logger)
            if restore {
                guard recovered else { throw Self.failure("some cpufreq settings could not be restored; see the log") }
                return
            }
        }
        let (configuration, host) = try makeHost(logger: logger)
        var options = AgentService.Options()
        options.once = once
        options.modeName = dryRun ? "dry-run" : (once ? "once" : "service")
        options.stopRequestedBeforeStart = { EarlyStopSignal.requested }
        options.profiles = true
        // A dry run writes nothing and may run as an ordinary user: it does not take the bus names.
        options.profileBus = !dryRun && !once
        options.confiner = ServiceConfiner(stateDirectory: configuration.stateDirectory, dryRun: dryRun, logger: logger)
        let configPath = config
        let platform = host.platform
        let service = AgentService(
            platform: platform, configuration: configuration, host: host,
            publisher: PlanFile(path: configuration.planFile),
            notifier: SystemdServiceNotifier(logger: logger), options: options, logger: logger,
            reload: { try Self.readConfiguration(path: configPath, platform: platform) })
        do {
            if once {
                try await service.run()
                return
            }
            let group = ServiceGroup(configuration: .init(
                services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        } catch let error as AgentService.RestoreIncomplete {
            throw Self.failure(error.description)
        }
    }

    /// Puts back what a run that did not stop cleanly left behind, before the configuration is
    /// validated or the host discovered: the saved originals are restored from the state file
    /// alone. The state files looked at are the config's `state_directory` (when the file
    /// parses as TOML and names one) and the default directory. False when a file could not be
    /// read or a setting could not be put back, or another gearboxd still holds the settings.
    static func recoverUncleanStop(configPath: String, logger: Logger) -> Bool {
        var directories = [AgentConfiguration().stateDirectory]
        if let configured = ConfiguredStateDirectory.lookUp(configPath: configPath), configured != directories[0] {
            directories.insert(configured, at: 0)
        }
        var allBack = true
        for directory in directories {
            var configuration = PlanApplier.Configuration()
            configuration.stateFile = PolicyStateFile(path: directory + "/cpufreq-state.json")
            switch PlanApplier.recoverUncleanStop(configuration: configuration, logger: logger) {
            case .nothingToRestore, .staleFromEarlierBoot:
                break
            case .restored(let domains):
                logger.notice("restored the cpufreq settings of a run that did not stop cleanly", metadata: [
                    "event": "restore", "domain": "\(domains.joined(separator: ","))",
                ])
            case .heldByRunningProcess, .failed:
                allBack = false
            }
            switch ConfinementStateFile(directory: directory).recoverUncleanStop(logger: logger) {
            case .nothingToRestore, .staleFromEarlierBoot:
                break
            case .restored(let services):
                logger.notice("restored the CPUs of services confined by a run that did not stop cleanly", metadata: [
                    "event": "restore", "service": "\(services.joined(separator: ","))",
                ])
            case .heldByRunningProcess, .failed:
                allBack = false
            }
        }
        return allBack
    }

    /// The configuration and the host it governs: the host's cpufreq policies (with the
    /// platform file's power where it gives one), or, for a dry run on a host without
    /// cpufreq, the platform file alone.
    private func makeHost(logger: Logger) throws -> (AgentConfiguration, LinuxHost) {
        var applierConfiguration = PlanApplier.Configuration()
        let discovered: Platform
        do {
            discovered = try HostDiscovery().platform()
        } catch {
            return try makePlatformFileHost(noCPUFreq: error, logger: logger)
        }
        let configuration = try loadConfiguration(platform: discovered)
        applierConfiguration.stateFile = PolicyStateFile(path: configuration.stateDirectory + "/cpufreq-state.json")
        let platformFile = try (platform ?? configuration.platformFile).map(Self.loadPlatformFile)
        do {
            let host = try LinuxHost(dryRun: dryRun, configuration: applierConfiguration, platformFile: platformFile, logger: logger)
            return (configuration, host)
        } catch {
            throw Self.badInput("\(error)")
        }
    }

    /// A host whose sysfs has no usable cpufreq: refused, unless this is a dry run with a
    /// platform file (`--platform` or the config's `platform_file`) to plan from.
    private func makePlatformFileHost(noCPUFreq error: DiscoveryError, logger: Logger) throws -> (AgentConfiguration, LinuxHost) {
        guard dryRun else {
            throw Self.badInput("\(error); gearboxd cannot govern this host (`gearboxd --dry-run --platform FILE` plans from a platform file without writing)")
        }
        let configured: String?
        do {
            configured = config == Self.defaultConfigPath && access(config, F_OK) != 0
                ? nil : try AgentConfigurationFile.platformFilePath(configPath: config)
        } catch {
            throw Self.badInput("\(error)")
        }
        guard let path = platform ?? configured else {
            throw Self.badInput("\(error); a dry run without cpufreq needs a platform file: --platform FILE or platform_file in \(config)")
        }
        let filePlatform = try Self.loadPlatformFile(path)
        let configuration = try loadConfiguration(platform: filePlatform)
        logger.notice("no cpufreq on this host: dry run from the platform file \(path), CPUs \(CPUList.format(filePlatform.cpus))", metadata: [
            "gearbox.event": "platform_file_dry_run", "file": "\(path)",
        ])
        return (configuration, LinuxHost(dryRunFrom: filePlatform, logger: logger))
    }

    private static func loadPlatformFile(_ path: String) throws -> Platform {
        do { return try PlatformFile.load(path: path) } catch { throw Self.badInput("\(error)") }
    }

    private func loadConfiguration(platform: Platform) throws -> AgentConfiguration {
        // The default path may be absent: gearboxd runs on defaults. A path given by hand must exist.
        if config == Self.defaultConfigPath && access(config, F_OK) != 0 {
            return AgentConfiguration()
        }
        do {
            return try Self.readConfiguration(path: config, platform: platform)
        } catch {
            throw Self.badInput("\(error)")
        }
    }

    static func readConfiguration(path: String, platform: Platform) throws -> AgentConfiguration {
        try AgentConfigurationFile.load(path: path, platform: platform)
    }

    /// One line on stderr, exit 2 (README, "Everyday commands").
    static func badInput(_ message: String) -> ExitCode {
        say(message)
        return ExitCode(2)
    }

    /// One line on stderr, exit 1: the run itself failed (a restore that did not complete).
    static func failure(_ message: String) -> ExitCode {
        say(message)
        return ExitCode(1)
    }

    private static func say(_ message: String) {
        let line = Array("gearboxd: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
