import Glibc

/// sd_notify failed: the message and errno.
public struct SystemdNotifierError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The notification that could not be sent.
    public let message: String
    /// The errno value (positive).
    public let errno: Int32

    public init(message: String, errno: Int32) {
        self.message = message
        self.errno = errno
    }

    public var description: String {
        let first = message.split(separator: "\n").first.map(String.init) ?? ""
        return "cannot notify systemd (\(first)): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}
