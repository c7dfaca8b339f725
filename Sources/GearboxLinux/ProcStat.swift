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
        var text = text
        let fast = text.withUTF8 { parseWellFormed($0) }
        if let fast { return fast }
        return try parseReportingErrors(text, file: file)
    }

    /// `parse` from the file's bytes.
    public static func parse(bytes: UnsafeBufferPointer<UInt8>, file: String = "/proc/stat") throws(ProcParseError) -> ProcStatSnapshot {
        if let fast = parseWellFormed(bytes) { return fast }
        return try parseReportingErrors(String(decoding: bytes, as: UTF8.self), file: file)
    }

    /// The per-tick path: one pass over the bytes, no strings. Nil when some `cpuN` line is
    /// not plainly well formed (then the slow parser names what is wrong, or accepts the odd
    /// spelling as it always has).
    static func parseWellFormed(_ bytes: UnsafeBufferPointer<UInt8>) -> ProcStatSnapshot? {
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), newline = UInt8(ascii: "\n")
        let zero = UInt8(ascii: "0"), nine = UInt8(ascii: "9")
        var cpus: [Int: CPUTimes] = [:]
        cpus.reserveCapacity(bytes.count / 64)
        var values = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var i = 0
        let n = bytes.count
        while i < n {
            // Leading blanks, then the label.
            while i < n, bytes[i] == space || bytes[i] == tab { i += 1 }
            let start = i
            while i < n, bytes[i] != space, bytes[i] != tab, bytes[i] != newline { i += 1 }
            let isCPULine = i - start > 3 && bytes[start] == UInt8(ascii: "c") && bytes[start + 1] == UInt8(ascii: "p")
                && bytes[start + 2] == UInt8(ascii: "u")
            guard isCPULine else {
                while i < n, bytes[i] != newline { i += 1 }
                i += 1
                continue
            }
            var cpu = 0
            for j in (start + 3)..<i {
                let b = bytes[j]
                guard b >= zero, b <= nine, cpu < 100_000_000 else { return nil }
                cpu = cpu * 10 + Int(b - zero)
            }
            var count = 0
            values = (0, 0, 0, 0, 0, 0, 0, 0)
            while true {
                while i < n, bytes[i] == space || bytes[i] == tab { i += 1 }
                if i >= n || bytes[i] == newline { break }
                var value: UInt64 = 0
                var digits = 0
                while i < n, bytes[i] != space, bytes[i] != tab, bytes[i] != newline {
                    let b = bytes[i]
                    guard b >= zero, b <= nine, digits < 19 else { return nil }
                    value = value * 10 + UInt64(b - zero)
                    digits += 1
                    i += 1
                }
                switch count {
                case 0: values.0 = value
                case 1: values.1 = value
                case 2: values.2 = value
                case 3: values.3 = value
                case 4: values.4 = value
                case 5: values.5 = value
                case 6: values.6 = value
                case 7: values.7 = value
                default: break
                }
                count += 1
            }
            i += 1
            guard count >= 4, cpus[cpu] == nil else { return nil }
            cpus[cpu] = CPUTimes(user: values.0, nice: values.1, system: values.2, idle: values.3, iowait: values.4,
                                 irq: values.5, softirq: values.6, steal: values.7)
        }
        return ProcStatSnapshot(cpus: cpus)
    }

    /// The original line-by-line parser: slower, but it names the line and field at fault.
    static func parseReportingErrors(_ text: String, file: String) throws(ProcParseError) -> ProcStatSnapshot {
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
