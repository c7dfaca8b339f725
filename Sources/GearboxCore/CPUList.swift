/// Linux cpulist syntax (`0-3,8,10-11`), as in `/sys/devices/system/cpu/online`.
public enum CPUList {
    /// Why a cpulist did not parse.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var text: String
        public var reason: String
        /// One line; a long text is shortened so that a hostile 64 KB list makes a short message.
        public var description: String {
            let shown = text.count > 64 ? String(text.prefix(60)) + "…" : text
            return "\"\(shown)\" is not a cpulist (\(reason)); expected e.g. \"0-3,8,10-11\""
        }
    }

    /// Parses a cpulist into ascending, distinct CPU numbers. Whitespace around items is ignored;
    /// an empty string is an empty list.
    ///
    /// The work is bounded before anything is expanded: every CPU number must be at most
    /// `maxCPU` (default `InputLimits.maximumCPU`, Linux's largest), there can be at most
    /// `maxCPU + 1` items, and overlapping ranges are refused on their bounds, so the result
    /// never holds more than `maxCPU + 1` numbers whatever the text.
    public static func parse(_ text: String, maxCPU: Int = InputLimits.maximumCPU) throws(ParseError) -> [Int] {
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty { return [] }
        var ranges: [ClosedRange<Int>] = []
        // Item by item rather than split(separator:): a long text fails at its first bad item
        // without first holding every item.
        var rest = trimmed[...]
        while true {
            guard ranges.count <= maxCPU else {
                throw ParseError(text: text, reason: "more than \(maxCPU + 1) items, so some CPU appears twice")
            }
            let comma = rest.firstIndex(of: ",")
            ranges.append(try range(rest[..<(comma ?? rest.endIndex)], in: text, maxCPU: maxCPU))
            guard let comma else { break }
            rest = rest[rest.index(after: comma)...]
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        for i in ranges.indices.dropFirst() where ranges[i].lowerBound <= ranges[i - 1].upperBound {
            throw ParseError(text: text, reason: "CPU \(ranges[i].lowerBound) appears twice")
        }
        return ranges.flatMap { Array($0) }
    }

    /// One item, `N` or `N-M`, checked against `maxCPU`.
    private static func range(_ rawItem: Substring, in text: String, maxCPU: Int) throws(ParseError) -> ClosedRange<Int> {
        let item = String(rawItem).trimmingWhitespace()
        let shown = item.count > 24 ? String(item.prefix(20)) + "…" : item
        // Two 19-digit numbers and a dash: anything longer is no item, and is not split.
        guard item.utf8.count <= 40 else { throw ParseError(text: text, reason: "bad item \"\(shown)\"") }
        let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 1 || bounds.count == 2,
              bounds.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }),
              let first = Int(bounds[0]), let last = bounds.count == 2 ? Int(bounds[1]) : first
        else { throw ParseError(text: text, reason: "bad item \"\(shown)\"") }
        guard last <= maxCPU else { throw ParseError(text: text, reason: "CPU \(last) is above \(maxCPU), the highest CPU number") }
        guard last >= first else { throw ParseError(text: text, reason: "range \"\(shown)\" runs backwards") }
        return first...last
    }

    /// Formats CPU numbers as a compact cpulist (`0-3,8`).
    public static func format(_ cpus: [Int]) -> String {
        let sorted = Array(Set(cpus)).sorted()
        var parts: [String] = []
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count, sorted[j + 1] == sorted[j] + 1 { j += 1 }
            parts.append(j == i ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and newlines (no Foundation here).
    /// One definition for the modules that read text files and sysfs values.
    public func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }),
              let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
