import Glibc
import Logging

/// Chooses and installs the process's swift-log backend: journald or stderr.
public enum JournalLogging {
    /// Where log records go.
    public enum Destination: String, Sendable, CaseIterable {
        /// journald through `sd_journal_sendv`.
        case journald
        /// One readable line per record on stderr.
        case stderr
        /// journald when its socket answers, else stderr.
        case automatic
    }

    /// The socket `sd_journal_sendv` writes to.
    public static let journalSocketPath = "/run/systemd/journal/socket"

    /// Installs the backend for the whole process; call once, from an executable's start.
    /// Calls `LoggingSystem.bootstrap`.
    public static func bootstrap(
        destination: Destination = .automatic,
        identifier: String,
        logLevel: Logger.Level = .info
    ) {
        let resolved = resolve(destination)
        LoggingSystem.bootstrap({ label, provider in
            makeHandler(destination: resolved, label: label, identifier: identifier, logLevel: logLevel, metadataProvider: provider)
        }, metadataProvider: nil)
    }

    /// A handler for `destination` (`.automatic` resolved now), for callers that build
    /// their own `Logger` rather than bootstrapping the process.
    public static func makeHandler(
        destination: Destination,
        label: String,
        identifier: String,
        logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil
    ) -> any LogHandler {
        switch resolve(destination) {
        case .journald, .automatic:
            return JournalLogHandler(label: label, identifier: identifier, logLevel: logLevel, metadataProvider: metadataProvider)
        case .stderr:
            return JournalStderrLogHandler(label: label, logLevel: logLevel, metadataProvider: metadataProvider)
        }
    }

    /// `.automatic` becomes `.journald` when journald answers on its socket, else `.stderr`.
    public static func resolve(_ destination: Destination) -> Destination {
        guard destination == .automatic else { return destination }
        return journalIsReachable() ? .journald : .stderr
    }

    /// Whether a journald listens on `path`: a datagram connect succeeds. A socket file
    /// left behind by a journald that has exited refuses the connection.
    public static func journalIsReachable(socketPath path: String = journalSocketPath) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        guard let address = SocketAddress.unix(path: path) else { return false }
        return address.withSockaddr { connect(descriptor, $0, $1) } == 0
    }
}
