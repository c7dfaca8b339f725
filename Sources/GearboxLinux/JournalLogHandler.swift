import CSystemd
import Glibc
import Logging

/// A swift-log backend that sends every record to journald through `sd_journal_sendv`,
/// with PRIORITY, CODE_FILE, CODE_LINE, CODE_FUNC, SYSLOG_IDENTIFIER and the metadata as
/// `GEARBOX_*` fields. A record journald refuses is written to stderr instead, so none is lost.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    /// The `SYSLOG_IDENTIFIER=` of every record (`journalctl -t` selects on it).
    public let identifier: String
    /// The logger's label, sent as `GEARBOX_LOGGER=`.
    public let label: String

    /// A handler for the logger `label`, tagging records with `identifier`.
    public init(
        label: String,
        identifier: String,
        logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.identifier = identifier
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
        let record = JournalRecord(event: event, identifier: identifier, label: label, base: base)
        var result = Self.send(record.fields)
        // sd_journal_sendv reports success when the journal's socket is missing (it drops the
        // record silently on ENOENT): a journald that went away would swallow every record.
        if result == 0 && access(JournalLogging.journalSocketPath, F_OK) != 0 { result = -ENOENT }
        if result < 0 {
            var line = JournalStderrLogHandler.format(record, label: label)
            line += " journal.errno=\(-result)"
            JournalStderrLogHandler.write(line)
        }
    }

    /// Sends `NAME=value` fields as one journal entry. Returns sd_journal_sendv's result
    /// (0, or a negative errno). Calls `sd_journal_sendv(3)`.
    public static func send(_ fields: [(name: String, value: String)]) -> Int32 {
        // One contiguous buffer holds every field, and the iovecs point into it; the
        // buffer outlives the call, so no pointer escapes its closure.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 1 })
        var spans: [(start: Int, count: Int)] = []
        spans.reserveCapacity(fields.count)
        for field in fields {
            let start = bytes.count
            bytes.append(contentsOf: field.name.utf8)
            bytes.append(UInt8(ascii: "="))
            bytes.append(contentsOf: field.value.utf8)
            spans.append((start, bytes.count - start))
        }
        return bytes.withUnsafeMutableBytes { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -EINVAL }
            let vectors = spans.map { iovec(iov_base: base + $0.start, iov_len: $0.count) }
            return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }
}
