import Glibc
import Logging

/// The stand-in for the journal when there is none (or `--log-to stderr`): one readable
/// line per record on stderr, `TIME LEVEL LABEL: MESSAGE key=value ...`.
public struct JournalStderrLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    /// The logger's label, printed before the message.
    public let label: String

    /// A handler for the logger `label`.
    public init(label: String, logLevel: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var base = metadata
        if let provided = metadataProvider?.get() {
            base.merge(provided) { _, new in new }
        }
        let record = JournalRecord(event: event, identifier: "", label: label, base: base)
        Self.write(Self.timestamp() + " " + Self.format(record, label: label))
    }

    /// `LEVEL LABEL: MESSAGE key=value ...`, quoting values that hold spaces, `=` or quotes.
    public static func format(_ record: JournalRecord, label: String) -> String {
        var line = "\(levelName(record.priority)) \(label): \(record.message)"
        for entry in record.metadata where entry.key != "logger" {
            line += " \(entry.key)=\(quoted(entry.value))"
        }
        return line
    }

    /// Writes `line` and a newline to stderr with one write(2), so that lines from
    /// concurrent loggers do not interleave.
    static func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    private static func levelName(_ priority: JournalPriority) -> String {
        switch priority {
        case .emergency, .alert, .critical: return "critical"
        case .error: return "error"
        case .warning: return "warning"
        case .notice: return "notice"
        case .info: return "info"
        case .debug: return "debug"
        }
    }

    private static func quoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline }
        guard needsQuotes else { return value }
        var escaped = ""
        for character in value {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return "\"" + escaped + "\""
    }

    /// UTC wall-clock time with milliseconds, e.g. `2025-11-22T03:13:05.123Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func padded(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let milliseconds = Int32(now.tv_nsec / 1_000_000)
        return "\(padded(parts.tm_year + 1900, 4))-\(padded(parts.tm_mon + 1, 2))-\(padded(parts.tm_mday, 2))"
            + "T\(padded(parts.tm_hour, 2)):\(padded(parts.tm_min, 2)):\(padded(parts.tm_sec, 2))"
            + ".\(padded(milliseconds, 3))Z"
    }
}
