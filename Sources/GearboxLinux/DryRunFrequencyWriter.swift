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

    /// Stores already logged at info: per CPU and file, the values (a dithered file sees two,
    /// so a short list searched in place is cheaper than hashing every store).
    private final class Seen: Sendable {
        struct Store: Hashable {
            var cpu: Int
            var file: File
            var frequency: Int
            var governor: String?
        }
        let stores = Mutex([Int: [Store]]())
        func first(_ store: Store) -> Bool {
            let slot = store.cpu &* 4 &+ store.file.index
            return stores.withLock { seen in
                if seen[slot]?.contains(store) == true { return false }
                seen[slot, default: []].append(store)
                return true
            }
        }
    }

    enum File: String {
        case scalingGovernor = "scaling_governor"
        case scalingMinFreq = "scaling_min_freq"
        case scalingMaxFreq = "scaling_max_freq"
        case scalingSetspeed = "scaling_setspeed"

        var index: Int {
            switch self {
            case .scalingGovernor: 0
            case .scalingMinFreq: 1
            case .scalingMaxFreq: 2
            case .scalingSetspeed: 3
            }
        }
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
