/// Per-CPU scheduler counters from `/proc/schedstat` (CONFIG_SCHEDSTATS; versions 15-17).
public struct SchedulerCounters: Hashable, Sendable {
    /// Nanoseconds tasks spent running on the CPU (field 7).
    public var runNanoseconds: UInt64
    /// Nanoseconds tasks spent runnable but waiting for the CPU (field 8).
    public var waitNanoseconds: UInt64
    /// Timeslices run on the CPU (field 9).
    public var timeslices: UInt64

    public init(runNanoseconds: UInt64, waitNanoseconds: UInt64, timeslices: UInt64) {
        self.runNanoseconds = runNanoseconds
        self.waitNanoseconds = waitNanoseconds
        self.timeslices = timeslices
    }
}

/// One reading of `/proc/schedstat`.
public struct SchedstatSnapshot: Hashable, Sendable {
    public var version: Int
    public var cpus: [Int: SchedulerCounters]

    public init(version: Int, cpus: [Int: SchedulerCounters]) {
        self.version = version
        self.cpus = cpus
    }

    /// Parses `/proc/schedstat`: a `version` line, then `cpuN` lines of at least 9 counters
    /// (domain lines are skipped).
    public static func parse(_ text: String, file: String = "/proc/schedstat") throws(ProcParseError) -> SchedstatSnapshot {
        var version: Int?
        var cpus: [Int: SchedulerCounters] = [:]
        for (number, fields) in numberedLines(text) {
            let label = fields[0]
            if label == "version" {
                guard fields.count == 2, let v = Int(fields[1]) else {
                    throw ProcParseError(file: file, line: number, message: "version line should be \"version N\"")
                }
                guard (15...17).contains(v) else {
                    throw ProcParseError(file: file, line: number, message: "schedstat version \(v) is not supported (15 to 17 are)")
                }
                version = v
                continue
            }
            guard label.hasPrefix("cpu") else { continue }
            guard version != nil else {
                throw ProcParseError(file: file, line: number, message: "\(label) line before the version line")
            }
            guard let cpu = Int(label.dropFirst(3)), cpu >= 0 else {
                throw ProcParseError(file: file, line: number, message: "\"\(label)\" is not cpuN")
            }
            guard fields.count >= 10 else {
                throw ProcParseError(file: file, line: number, message: "\(label) has \(fields.count - 1) counters, expected 9")
            }
            var values: [UInt64] = []
            for (column, field) in fields.dropFirst().prefix(9).enumerated() {
                guard let value = UInt64(field) else {
                    throw ProcParseError(file: file, line: number, message: "\(label) field \(column + 1) \"\(field)\" is not a number")
                }
                values.append(value)
            }
            cpus[cpu] = SchedulerCounters(runNanoseconds: values[6], waitNanoseconds: values[7], timeslices: values[8])
        }
        guard let version else { throw ProcParseError(file: file, line: 1, message: "no version line") }
        return SchedstatSnapshot(version: version, cpus: cpus)
    }

    /// Each CPU's mean run-queue delay per timeslice, in seconds, between two snapshots:
    /// Δwait / Δtimeslices. CPUs without new timeslices are left out.
    public func runQueueDelays(since earlier: SchedstatSnapshot) -> [Int: Double] {
        var delays: [Int: Double] = [:]
        for (cpu, now) in cpus {
            guard let then = earlier.cpus[cpu], now.timeslices > then.timeslices,
                  now.waitNanoseconds >= then.waitNanoseconds else { continue }
            delays[cpu] = Double(now.waitNanoseconds - then.waitNanoseconds) / Double(now.timeslices - then.timeslices) / 1e9
        }
        return delays
    }
}
