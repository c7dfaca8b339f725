/// CPU pressure stall information from `/proc/pressure/cpu` (PSI).
public struct CPUPressure: Hashable, Sendable {
    /// One PSI line: percentages of time stalled over 10, 60 and 300 s, and total µs.
    public struct Line: Hashable, Sendable {
        public var average10: Double
        public var average60: Double
        public var average300: Double
        public var totalMicroseconds: UInt64
    }

    /// Some task was runnable but waiting for a CPU.
    public var some: Line
    /// Every non-idle task was stalled (reported since 5.13; zero at system level).
    public var full: Line?

    /// Parses `some avg10=… avg60=… avg300=… total=…` and an optional `full …` line.
    public static func parse(_ text: String, file: String = "/proc/pressure/cpu") throws(ProcParseError) -> CPUPressure {
        var some: Line?
        var full: Line?
        for (number, fields) in numberedLines(text) {
            let kind = fields[0]
            guard kind == "some" || kind == "full" else {
                throw ProcParseError(file: file, line: number, message: "expected \"some\" or \"full\", got \"\(kind)\"")
            }
            var values: [String: Substring] = [:]
            for field in fields.dropFirst() {
                let pair = field.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else {
                    throw ProcParseError(file: file, line: number, message: "\"\(field)\" is not key=value")
                }
                values[String(pair[0])] = pair[1]
            }
            func percent(_ key: String) throws(ProcParseError) -> Double {
                guard let text = values[key], let value = Double(text), value >= 0 else {
                    throw ProcParseError(file: file, line: number, message: "\(kind) \(key) is missing or not a number")
                }
                return value
            }
            guard let total = values["total"].flatMap({ UInt64($0) }) else {
                throw ProcParseError(file: file, line: number, message: "\(kind) total is missing or not a number")
            }
            let line = Line(average10: try percent("avg10"), average60: try percent("avg60"),
                            average300: try percent("avg300"), totalMicroseconds: total)
            if kind == "some" { some = line } else { full = line }
        }
        guard let some else { throw ProcParseError(file: file, line: 1, message: "no \"some\" line") }
        return CPUPressure(some: some, full: full)
    }

    /// Fraction of the time between two readings during which some task waited for a CPU.
    public func stalledFraction(since earlier: CPUPressure, elapsedSeconds: Double) -> Double? {
        guard elapsedSeconds > 0, some.totalMicroseconds >= earlier.some.totalMicroseconds else { return nil }
        return min(1, Double(some.totalMicroseconds - earlier.some.totalMicroseconds) / 1e6 / elapsedSeconds)
    }
}
