/// A kernel text file (/proc/stat, /proc/schedstat, /proc/pressure/cpu) that does not parse:
/// the file, the 1-based line, and what was wrong.
public struct ProcParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }
}

/// The lines of a text with their 1-based numbers, blank lines skipped.
func numberedLines(_ text: String) -> [(number: Int, fields: [Substring])] {
    text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, line in
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        return fields.isEmpty ? nil : (index + 1, fields)
    }
}
