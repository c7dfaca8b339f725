import ArgumentParser
import CSysfsEmulation
import Foundation
import GearboxControl
import GearboxCore
import GearboxLinux
import Logging

/// Test helper, not a user tool: runs GearboxLinux's discovery, applier and dither with the
/// real libcpufreq against whatever is mounted on /sys/devices/system/cpu, one step after
/// another. Tests run it inside a private mount namespace with a fixture tree bind-mounted
/// there (Tests/GearboxLinuxTests/NamespaceRunner.swift). It links CSysfsEmulation, which
/// gives the regular-file fixture sysfs's write semantics (see sysfs_emulation.c).
@main
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gearbox-linux-probe",
        abstract: "Run GearboxLinux steps against the mounted cpufreq tree (for tests).",
        discussion: """
            Steps, in order: inventory | set NAME=KHZ... | dither SECONDS|until:PATH NAME:LOW:HIGH:THETA:PERIOD_MS... | \
            restore | recover | hold | sh COMMAND
            """
    )

    @Option(help: "State file for the original settings.")
    var state = "/tmp/gearbox-probe/cpufreq-state.json"

    @Flag(help: "Log writes instead of making them.")
    var dryRun = false

    @Flag(help: "Always clamp scaling_min_freq/scaling_max_freq, even where userspace is offered.")
    var clamp = false

    @Option(name: .customLong("step"), help: "A step to run (repeatable).")
    var steps: [String] = []

    func run() throws {
        precondition(gearbox_sysfs_emulation_linked() == 1)
        LoggingSystem.bootstrap { label in JSONLinesLogHandler(label: label) }
        let logger = Logger(label: "gearbox.probe")
        var applier: PlanApplier?
        var configuration = PlanApplier.Configuration()
        configuration.stateFile = PolicyStateFile(path: state)
        configuration.useUserspaceGovernor = !clamp
        let writer: any CPUFrequencyWriter = dryRun ? DryRunFrequencyWriter(logger: logger) : LibCPUFreq()

        func currentApplier() throws -> PlanApplier {
            if let applier { return applier }
            let inventory = try HostDiscovery().inventory()
            return PlanApplier(inventory: inventory, writer: writer, configuration: configuration, logger: logger)
        }

        for step in steps {
            let words = step.split(separator: " ").map(String.init)
            guard let verb = words.first else { continue }
            let arguments = Array(words.dropFirst())
            switch verb {
            case "inventory":
                // Also fixes the applier's view of the host here, so later steps can change
                // the tree underneath it (faults between discovery and writes).
                let inventory = try HostDiscovery().inventory()
                print(inventory.json().rendered())
                if applier == nil {
                    applier = PlanApplier(inventory: inventory, writer: writer, configuration: configuration, logger: logger)
                }
            case "set":
                var current = try currentApplier()
                let failed = current.apply(try Self.plan(arguments))
                applier = current
                print("set failed=\(failed.joined(separator: ","))")
            case "dither":
                applier = try Self.dither(arguments, applier: try currentApplier())
                print("dither done")
            case "host":
                print(try Self.host(arguments, dryRun: dryRun, configuration: configuration, logger: logger))
            case "restore":
                var current = try currentApplier()
                let failed = current.restore()
                applier = current
                print("restore failed=\(failed.joined(separator: ","))")
            case "recover":
                print("recover \(PlanApplier.recoverUncleanStop(configuration: configuration, writer: writer, logger: logger))")
            case "hold":
                print("holding")
                fflush(nil)
                while true { sleep(60) }
            case "sh":
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = ["-c", arguments.joined(separator: " ")]
                try process.run()
                process.waitUntilExit()
            default:
                throw ValidationError("unknown step \"\(verb)\"")
            }
            fflush(nil)
        }
    }

    /// A plan of pure speeds from `NAME=KHZ` words.
    static func plan(_ words: [String]) throws -> Plan {
        let domains = try words.map { word -> DomainPlan in
            let parts = word.split(separator: "=")
            guard parts.count == 2, let khz = Int(parts[1]) else { throw ValidationError("expected NAME=KHZ, got \(word)") }
            let f = Kilohertz(khz)
            return DomainPlan(name: String(parts[0]), cpus: [], low: f, high: f, pHigh: 1, timeShareHigh: 1)
        }
        return Plan(feasible: true, power: .zero, domains: domains, queues: [], cpus: [])
    }

    /// Runs the dither for `StepLength` with lanes `NAME:LOW:HIGH:THETA:PERIOD_MS`.
    static func dither(_ words: [String], applier: PlanApplier) throws -> PlanApplier {
        let length = try StepLength(words.first, usage: "dither SECONDS|until:PATH LANE...")
        let lanes = try words.dropFirst().map { word -> DitherSchedule.Lane in
            let p = word.split(separator: ":").map(String.init)
            guard p.count == 5, let low = Int(p[1]), let high = Int(p[2]), let theta = Double(p[3]), let ms = Double(p[4]) else {
                throw ValidationError("expected NAME:LOW:HIGH:THETA:PERIOD_MS, got \(word)")
            }
            return DitherSchedule.Lane(domain: p[0], low: Kilohertz(low), high: Kilohertz(high), timeShareHigh: theta,
                                       period: .nanoseconds(Int64(ms * 1e6)))
        }
        // The agent's dither: its own thread, as LinuxHost runs it.
        let dither = DitherThread(applier: applier)
        dither.update(DitherSchedule(lanes: lanes))
        let start = ContinuousClock.now
        while !length.isOver(after: ContinuousClock.now - start) { usleep(10_000) }
        dither.stop()
        return dither.applierSnapshot
    }
}

extension Probe {
    /// Runs LinuxHost as the agent would: recovery, a plan with dithered domains for
    /// `StepLength`, two busy samples, restore.
    static func host(_ words: [String], dryRun: Bool, configuration: PlanApplier.Configuration, logger: Logger) throws -> String {
        let length = try StepLength(words.first, usage: "host SECONDS|until:PATH LANE...")
        let domains = try words.dropFirst().map { word -> DomainPlan in
            let p = word.split(separator: ":").map(String.init)
            guard p.count == 5, let low = Int(p[1]), let high = Int(p[2]), let theta = Double(p[3]), let ms = Double(p[4]) else {
                throw ValidationError("expected NAME:LOW:HIGH:THETA:PERIOD_MS, got \(word)")
            }
            return DomainPlan(name: p[0], cpus: [], low: Kilohertz(low), high: Kilohertz(high), pHigh: theta,
                              timeShareHigh: theta, ditherPeriod: ms / 1000)
        }
        let host = try LinuxHost(dryRun: dryRun, configuration: configuration, logger: logger)
        let plan = Plan(feasible: true, power: .zero, domains: domains, queues: [], cpus: [])
        let box = TextBox()
        let semaphore = DispatchSemaphore(value: 0)
        Task {
            let sinceBoot = (try? await host.sampleBusyFractions()) ?? [:]
            await host.apply(plan)
            let start = ContinuousClock.now
            while !length.isOver(after: ContinuousClock.now - start) { try? await Task.sleep(for: .milliseconds(10)) }
            let state = await host.state()
            let recent = (try? await host.sampleBusyFractions()) ?? [:]
            await host.restore()
            box.text = "host recovery=\(host.recovery.map { "\($0)" } ?? "none") cpus=\(sinceBoot.count),\(recent.count) "
                + "set=\(state.frequencies.keys.sorted().joined(separator: ",")) held=\(state.held.joined(separator: ","))"
            semaphore.signal()
        }
        semaphore.wait()
        return box.text
    }
}

/// How long a step lasts: `SECONDS`, or `until:PATH`: until PATH exists (a test creates it once
/// it has seen what it waits for, so that a loaded machine only makes the step longer), at most 600 s.
struct StepLength: Sendable {
    let seconds: Double
    let stopFile: String?

    init(_ word: String?, usage: String) throws {
        if let word, word.hasPrefix("until:") {
            stopFile = String(word.dropFirst(6))
            seconds = 600
        } else if let word, let value = Double(word), value.isFinite, value >= 0, value <= 600 {
            stopFile = nil
            seconds = value
        } else {
            throw ValidationError(usage)
        }
    }

    func isOver(after elapsed: Duration) -> Bool {
        if let stopFile, FileManager.default.fileExists(atPath: stopFile) { return true }
        return elapsed >= .milliseconds(Int64(seconds * 1000))
    }
}

final class TextBox: @unchecked Sendable {
    var text = ""
}

/// Log lines as JSON objects on stderr, so tests can check what was logged.
struct JSONLinesLogHandler: LogHandler {
    var label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let line = JSONValue.object([
            ("level", .string(event.level.rawValue)),
            ("message", .string(event.message.description)),
            ("metadata", .object(all.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value.description)) })),
        ]).rendered()
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
