import GearboxCore
import Logging
import Synchronization

/// A writer that logs each store it would make instead of making it (`gearboxd --dry-run`).
///
/// The first store of each value to each CPU's file is logged at info, repeats at debug: a
/// dithered domain stores the same two values hundreds of times a second, and logging all
/// of them at info would cost more than the agent's own work.
public struct DryRunFrequencyWriter: CPUFrequencyWriter {
    let logger: Logger
    private let seen = Seen()

    public init(logger: Logger) { self.logger = logger }

    /// Stores already logged at info.
    private final class Seen: Sendable {
        struct Store: Hashable {
            var cpu: Int
            var file: File
            var frequency: Int
            var governor: String?
        }
        let stores = Mutex(Set<Store>())
        func first(_ store: Store) -> Bool { stores.withLock { $0.insert(store).inserted } }
    }

    enum File: String {
        case scalingGovernor = "scaling_governor"
        case scalingMinFreq = "scaling_min_freq"
        case scalingMaxFreq = "scaling_max_freq"
        case scalingSetspeed = "scaling_setspeed"
    }

    public var changesHardware: Bool { false }

    public func setGovernor(_ governor: String, cpu: Int) throws(CPUFreqError) {
        report(cpu: cpu, file: .scalingGovernor, frequency: 0, governor: governor)
    }

    public func setMinimum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) {
        report(cpu: cpu, file: .scalingMinFreq, frequency: frequency.value)
    }

    public func setMaximum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) {
        report(cpu: cpu, file: .scalingMaxFreq, frequency: frequency.value)
    }

    public func setSpeed(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) {
        report(cpu: cpu, file: .scalingSetspeed, frequency: frequency.value)
    }

    private func report(cpu: Int, file: File, frequency: Int, governor: String? = nil) {
        let level: Logger.Level = seen.first(.init(cpu: cpu, file: file, frequency: frequency, governor: governor)) ? .info : .debug
        // The message and metadata are built only when the level is logged.
        let value = { governor ?? String(frequency) }
        logger.log(level: level, "dry run: would write \(value()) to cpu\(cpu)/cpufreq/\(file.rawValue)",
                   metadata: ["cpu.id": "\(cpu)", "cpufreq.file": "\(file.rawValue)", "cpufreq.value": "\(value())",
                              "gearbox.event": "dry_run_write"])
    }
}
