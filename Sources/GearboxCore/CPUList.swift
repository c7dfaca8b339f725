/// Linux cpulist syntax (`0-3,8,10-11`), as in `/sys/devices/system/cpu/online`.
public enum CPUList {
    /// Why a cpulist did not parse.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var text: String
        public var reason: String
        public var description: String { "\"\(text)\" is not a cpulist (\(reason)); expected e.g. \"0-3,8,10-11\"" }
    }

    /// Parses a cpulist into ascending, distinct CPU numbers. Whitespace around items is ignored;
    /// an empty string is an empty list.
    public static func parse(_ text: String) throws(ParseError) -> [Int] {
        var cpus: [Int] = []
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty { return [] }
        for rawItem in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let item = String(rawItem).trimmingWhitespace()
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2,
                  let first = Int(bounds[0]), first >= 0,
                  let last = bounds.count == 2 ? Int(bounds[1]) : first
            else { throw ParseError(text: text, reason: "bad item \"\(item)\"") }
            guard last >= first else { throw ParseError(text: text, reason: "range \"\(item)\" runs backwards") }
            guard last - first < 65536 else { throw ParseError(text: text, reason: "range \"\(item)\" is too large") }
            cpus.append(contentsOf: first...last)
        }
        let sorted = cpus.sorted()
        for i in sorted.indices.dropFirst() where sorted[i] == sorted[i - 1] {
            throw ParseError(text: text, reason: "CPU \(sorted[i]) appears twice")
        }
        return sorted
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

extension String {
    /// The string without leading and trailing spaces, tabs and newlines (no Foundation here).
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }),
              let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
