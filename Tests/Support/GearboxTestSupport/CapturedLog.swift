import Logging
import Synchronization

/// Log records kept in memory, for tests of what a component logs: level, message and metadata.
public final class CapturedLog: Sendable {
    public let records = Mutex<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])

    public init() {}

    public struct Handler: LogHandler {
        let log: CapturedLog
        public var metadata: Logger.Metadata = [:]
        public var logLevel: Logger.Level = .info
        public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        public func log(event: LogEvent) {
            log.records.withLock { $0.append((event.level, event.message.description, event.metadata ?? [:])) }
        }
    }

    /// A logger that records everything at `level` and above here.
    public func logger(level: Logger.Level = .info) -> Logger {
        var handler = Handler(log: self)
        handler.logLevel = level
        return Logger(label: "test") { _ in handler }
    }

    /// The metadata of every record whose `event` is `kind`, in order.
    public func events(_ kind: String) -> [Logger.Metadata] {
        records.withLock { $0.map(\.metadata).filter { $0["event"] == .string(kind) } }
    }
}
