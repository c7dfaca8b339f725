import GearboxCore

/// One recorded request: when it arrived and how much work it carried.
public struct TraceArrival: Hashable, Sendable {
    /// Arrival time in seconds from the start of the run.
    public var time: Double
    /// Work in reference-seconds.
    public var work: Double
    public init(time: Double, work: Double) {
        self.time = time
        self.work = work
    }
}

/// A recorded arrival stream for one queue, replayed instead of Poisson arrivals.
public struct ArrivalTrace: Hashable, Sendable {
    /// Arrivals in time order.
    public var arrivals: [TraceArrival]
    public init(arrivals: [TraceArrival]) {
        self.arrivals = arrivals.sorted { $0.time < $1.time }
    }
}

/// A malformed trace: names the line and the field.
public struct TraceError: Error, Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var field: String?
    public var message: String
    public init(line: Int, field: String?, message: String) {
        self.line = line
        self.field = field
        self.message = message
    }
    public var description: String {
        "line \(line): " + (field.map { "\($0): " } ?? "") + message
    }
}

extension ArrivalTrace {
    /// Latest arrival time a trace may give: the longest run (warm-up and duration at their
    /// limits). A larger time is most likely an absolute timestamp, not seconds from the start.
    public static let times = InputRange(0, SimulationLimits.warmUp.highest + SimulationLimits.duration.highest, unit: "s")
    /// Work of one recorded request, in ms at reference speed (0 allowed: a no-op request).
    public static let workMilliseconds = InputRange(0, InputLimits.workMilliseconds.highest, unit: "ms")

    /// Traces per queue from CSV text with a header naming the columns `time_s`, `work_ms`
    /// and optionally `queue` (rows without it go under the key ""). Blank lines and lines
    /// starting with `#` are skipped. Each queue's rows must be in time order: a trace out
    /// of order is refused at the first row that goes back in time, not silently sorted.
    /// Pure: the caller reads the file.
    public static func parse(csv: String) throws(TraceError) -> [String: ArrivalTrace] {
        var header: [String]?
        var rows: [String: [TraceArrival]] = [:]
        var lastLine: [String: Int] = [:]
        var lineNumber = 0
        for rawLine in csv.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingSpaces() }
            guard let columns = header else {
                for required in ["time_s", "work_ms"] where !fields.contains(required) {
                    throw TraceError(line: lineNumber, field: required,
                                     message: "header must name the columns time_s and work_ms")
                }
                header = fields
                continue
            }
            guard fields.count == columns.count else {
                throw TraceError(line: lineNumber, field: nil,
                                 message: "expected \(columns.count) fields, found \(fields.count)")
            }
            var time = Double.nan, work = Double.nan, queue = ""
            for (name, value) in zip(columns, fields) {
                switch name {
                case "time_s": time = try number(value, in: times, line: lineNumber, field: name)
                case "work_ms": work = try number(value, in: workMilliseconds, line: lineNumber, field: name) / 1000
                case "queue": queue = value
                default: continue
                }
            }
            if let previous = rows[queue]?.last, time < previous.time {
                let which = queue.isEmpty ? "the previous row" : "the previous row of queue \(queue)"
                throw TraceError(line: lineNumber, field: "time_s",
                                 message: "\(InputLimits.text(time)) is earlier than \(InputLimits.text(previous.time)) on line \(lastLine[queue] ?? 0) (\(which)); rows must be in time order")
            }
            rows[queue, default: []].append(TraceArrival(time: time, work: work))
            lastLine[queue] = lineNumber
        }
        return rows.mapValues { ArrivalTrace(arrivals: $0) }
    }

    private static func number(_ text: String, in range: InputRange, line: Int, field: String) throws(TraceError) -> Double {
        let shown = text.count > 32 ? String(text.prefix(30)) + "…" : text
        guard let value = Double(text), value.isFinite, value >= 0 else {
            throw TraceError(line: line, field: field,
                             message: "'\(shown)' is not a non-negative number")
        }
        if let refusal = range.refusal(value) { throw TraceError(line: line, field: field, message: refusal) }
        return value
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        var s = self[...]
        while let c = s.first, c == " " || c == "\t" || c == "\r" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s = s.dropLast() }
        return String(s)
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String { self[...].trimmingSpaces() }
}
