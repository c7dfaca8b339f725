import GearboxCore
import Logging

/// A writer that logs each store it would make instead of making it (`gearboxd --dry-run`).
public struct DryRunFrequencyWriter: CPUFrequencyWriter {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public var changesHardware: Bool { false }

    public func setGovernor(_ governor: String, cpu: Int) throws(CPUFreqError) {
        report(cpu: cpu, file: "scaling_governor", value: governor)
    }

    public func setMinimum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) {
        report(cpu: cpu, file: "scaling_min_freq", value: String(frequency.value))
    }

    public func setMaximum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) {
        report(cpu: cpu, file: "scaling_max_freq", value: String(frequency.value))
    }

    public func setSpeed(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) {
        report(cpu: cpu, file: "scaling_setspeed", value: String(frequency.value))
    }

    private func report(cpu: Int, file: String, value: String) {
        logger.info("dry run: would write \(value) to cpu\(cpu)/cpufreq/\(file)",
                    metadata: ["cpu.id": "\(cpu)", "cpufreq.file": "\(file)", "cpufreq.value": "\(value)",
                               "gearbox.event": "dry_run_write"])
    }
}
