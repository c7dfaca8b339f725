import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
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
            and SIGINT restore the original cpufreq settings and exit 0.
            """
    )

    static let defaultConfigPath = "/etc/gearbox/gearbox.toml"

    @Option(help: ArgumentHelp("Configuration file. Missing default file: built-in defaults.", valueName: "file"))
    var config: String = Gearboxd.defaultConfigPath

    @Flag(help: "Read and plan, write nothing to sysfs: log each write it would make. Runs as any user.")
    var dryRun = false

    @Flag(help: "One plan, applied (or dry), then exit. Mixed domains get their higher frequency, since no dither runs after exit; `gearboxd --restore` or the next start puts the original settings back.")
    var once = false

    @Flag(help: "Put back the cpufreq settings saved by a run that did not stop cleanly, then exit.")
    var restore = false

    @Option(help: "Where logs go: journald, stderr or automatic (journald when its socket answers).")
    var logTo: JournalLogging.Destination = .automatic

    func validate() throws {
        if restore && (once || dryRun) { throw ValidationError("--restore stands alone") }
    }

    func run() async throws {
        JournalLogging.bootstrap(destination: logTo, identifier: "gearboxd")
        let logger = Logger(label: "gearboxd")
        let configuration = try loadConfiguration(platform: try discoverPlatform())
        var applierConfiguration = PlanApplier.Configuration()
        applierConfiguration.stateFile = PolicyStateFile(path: configuration.stateDirectory + "/cpufreq-state.json")
        let platformFile = try configuration.platformFile.map { path -> Platform in
            do { return try PlatformFile.load(path: path) } catch { throw Self.badInput("\(error)") }
        }
        let host: LinuxHost
        do {
            host = try LinuxHost(dryRun: dryRun, configuration: applierConfiguration, platformFile: platformFile, logger: logger)
        } catch {
            throw Self.badInput("\(error)")
        }
        if let recovery = host.recovery, case .restored(let domains) = recovery {
            logger.notice("restored the cpufreq settings of a run that did not stop cleanly", metadata: [
                "event": "restore", "domain": "\(domains.joined(separator: ","))",
            ])
        }
        if restore { return }
        var options = AgentService.Options()
        options.once = once
        options.modeName = dryRun ? "dry-run" : (once ? "once" : "service")
        let configPath = config
        let platform = host.platform
        let service = AgentService(
            platform: platform, configuration: configuration, host: host,
            publisher: PlanFile(path: configuration.planFile),
            notifier: SystemdServiceNotifier(logger: logger), options: options, logger: logger,
            reload: { try Self.readConfiguration(path: configPath, platform: platform) })
        if once {
            try await service.run()
            return
        }
        let group = ServiceGroup(configuration: .init(
            services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    private func discoverPlatform() throws -> Platform {
        do {
            return try HostDiscovery().platform()
        } catch {
            throw Self.badInput("\(error)")
        }
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

    /// One line on stderr, exit 2 (PRODUCT.md).
    static func badInput(_ message: String) -> ExitCode {
        let line = Array("gearboxd: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        return ExitCode(2)
    }
}
