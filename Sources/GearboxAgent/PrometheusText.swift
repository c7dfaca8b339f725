/// Parses the Prometheus text exposition format (version 0.0.4): what an application's
/// `/metrics` endpoint serves. Only samples are kept; `# HELP` / `# TYPE` lines are skipped.
public enum PrometheusText {
    public struct Sample: Hashable, Sendable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> [Sample] {
        var samples: [Sample] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingPrefix { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.first == "#" { continue }
            samples.append(try sample(Substring(line), line: number + 1))
        }
        return samples
    }

    /// The value of the one series named `name` whose labels include `labels`; several matching
    /// series are summed (a counter split by a label the selector does not name).
    public static func value(of name: String, labels: [String: String], in samples: [Sample]) -> Double? {
        let matching = samples.filter { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }
        guard !matching.isEmpty else { return nil }
        return matching.reduce(0) { $0 + $1.value }
    }

    private static func sample(_ line: Substring, line number: Int) throws(ParseError) -> Sample {
        var rest = line
        let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
        guard !name.isEmpty, !(name.first!.isNumber) else {
            throw ParseError(line: number, message: "expected a metric name")
        }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            try parseLabels(&rest, into: &labels, line: number)
        }
        let fields = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 1 || fields.count == 2 else {
            throw ParseError(line: number, message: "expected a value (and an optional timestamp) after \(name)")
        }
        guard let value = parseNumber(fields[0]) else {
            throw ParseError(line: number, message: "\"\(fields[0])\" is not a number")
        }
        return Sample(name: name, labels: labels, value: value)
    }

    private static func parseLabels(_ rest: inout Substring, into labels: inout [String: String], line: Int) throws(ParseError) {
        while true {
            rest = rest.drop { $0 == " " || $0 == "," }
            if rest.first == "}" { rest = rest.dropFirst(); return }
            let key = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
            rest = rest.dropFirst(key.count)
            guard !key.isEmpty, rest.first == "=" else { throw ParseError(line: line, message: "malformed label") }
            rest = rest.dropFirst()
            guard rest.first == "\"" else { throw ParseError(line: line, message: "label \(key) needs a quoted value") }
            rest = rest.dropFirst()
            var value = ""
            var closed = false
            while let c = rest.first {
                rest = rest.dropFirst()
                if c == "\"" { closed = true; break }
                if c == "\\", let e = rest.first {
                    rest = rest.dropFirst()
                    value.append(e == "n" ? "\n" : e)
                } else {
                    value.append(c)
                }
            }
            guard closed else { throw ParseError(line: line, message: "unterminated label value") }
            labels[key] = value
        }
    }

    private static func parseNumber<S: StringProtocol>(_ text: S) -> Double? {
        switch text {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(String(text))
        }
    }
}

/// The increase of a monotonic counter between two reads, allowing for resets: a counter that
/// went down was restarted (its process restarted), so the whole new value is the increase.
public func counterIncrease(from previous: Double, to current: Double) -> Double {
    current >= previous ? current - previous : current
}
