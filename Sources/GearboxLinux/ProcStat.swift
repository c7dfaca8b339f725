/// Per-CPU time counters from `/proc/stat`, in USER_HZ ticks.
public struct CPUTimes: Hashable, Sendable {
    public var user: UInt64
    public var nice: UInt64
    public var system: UInt64
    public var idle: UInt64
    public var iowait: UInt64
    public var irq: UInt64
    public var softirq: UInt64
    public var steal: UInt64

    public init(user: UInt64, nice: UInt64, system: UInt64, idle: UInt64, iowait: UInt64 = 0, irq: UInt64 = 0,
                softirq: UInt64 = 0, steal: UInt64 = 0) {
        self.user = user
        self.nice = nice
        self.system = system
        self.idle = idle
        self.iowait = iowait
        self.irq = irq
        self.softirq = softirq
        self.steal = steal
    }

    /// Ticks the CPU ran something: user, nice, system, irq, softirq. Guest time is already
    /// inside user and nice, so it is not added again.
    public var busy: UInt64 { user &+ nice &+ system &+ irq &+ softirq }

    /// Every tick: busy plus idle, iowait (idle while a task waits on I/O) and steal (a
    /// hypervisor ran someone else).
    public var total: UInt64 { busy &+ idle &+ iowait &+ steal }
}

/// One reading of `/proc/stat`: the per-CPU counters (the aggregate `cpu` line is left out).
public struct ProcStatSnapshot: Hashable, Sendable {
    public var cpus: [Int: CPUTimes]

    public init(cpus: [Int: CPUTimes]) { self.cpus = cpus }

    /// Parses `/proc/stat` text. Lines other than `cpuN` are ignored; a `cpuN` line with fewer
    /// than four counters or a counter that is not a number is an error naming the line.
    public static func parse(_ text: String, file: String = "/proc/stat") throws(ProcParseError) -> ProcStatSnapshot {
        var cpus: [Int: CPUTimes] = [:]
        for (number, fields) in numberedLines(text) {
            let label = fields[0]
            guard label.hasPrefix("cpu"), label != "cpu" else { continue }
            guard let cpu = Int(label.dropFirst(3)), cpu >= 0 else {
                throw ProcParseError(file: file, line: number, message: "\"\(label)\" is not cpuN")
            }
            var values: [UInt64] = []
            for (column, field) in fields.dropFirst().enumerated() {
                guard let value = UInt64(field) else {
                    throw ProcParseError(file: file, line: number, message: "\(label) field \(column + 1) \"\(field)\" is not a number")
                }
                values.append(value)
            }
            guard values.count >= 4 else {
                throw ProcParseError(file: file, line: number, message: "\(label) has \(values.count) counters, expected at least 4 (user nice system idle)")
            }
            guard cpus[cpu] == nil else {
                throw ProcParseError(file: file, line: number, message: "\(label) appears twice")
            }
            func at(_ i: Int) -> UInt64 { i < values.count ? values[i] : 0 }
            cpus[cpu] = CPUTimes(user: at(0), nice: at(1), system: at(2), idle: at(3), iowait: at(4), irq: at(5),
                                 softirq: at(6), steal: at(7))
        }
        return ProcStatSnapshot(cpus: cpus)
    }

    /// Each CPU's busy fraction between `earlier` and this snapshot: Δbusy / Δtotal. CPUs
    /// missing from either snapshot, with no ticks between them, or whose counters went
    /// backwards (the CPU went offline and came back) are left out.
    public func busyFractions(since earlier: ProcStatSnapshot) -> [Int: Double] {
        var fractions: [Int: Double] = [:]
        for (cpu, now) in cpus {
            guard let then = earlier.cpus[cpu], now.total > then.total, now.busy >= then.busy,
                  now.total - then.total >= now.busy - then.busy else { continue }
            fractions[cpu] = Double(now.busy - then.busy) / Double(now.total - then.total)
        }
        return fractions
    }
}
