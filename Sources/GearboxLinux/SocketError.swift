import Glibc

/// A socket call that failed, with the path it was about and errno.
public struct SocketError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The step that failed.
    public enum Operation: String, Sendable {
        case create = "create socket"
        case bind
        case listen
        case connect
        case accept
        case setMode = "set the mode of"
        case setGroup = "set the group of"
        case removeStale = "remove the stale socket"
        case peerCredentials = "read SO_PEERCRED of"
        case inheritSockets = "take sockets passed by systemd (sd_listen_fds)"
        case lookUpGroup = "look up group"
    }

    public let operation: Operation
    /// The socket path, group name or other subject, when there is one.
    public let subject: String?
    /// The errno value (positive).
    public let errno: Int32

    public init(_ operation: Operation, subject: String?, errno: Int32) {
        self.operation = operation
        self.subject = subject
        self.errno = errno
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        let target = subject.map { " \($0)" } ?? ""
        return "cannot \(operation.rawValue)\(target): \(reason) (errno \(errno))"
    }
}
