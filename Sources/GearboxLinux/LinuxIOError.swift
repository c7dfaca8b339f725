#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed read or write of a kernel file: the path, what was tried, and errno.
public struct LinuxIOError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Operation: String, Hashable, Sendable { case read, write }
    public var path: String
    public var operation: Operation
    public var errno: Int32

    public init(path: String, operation: Operation, errno: Int32) {
        self.path = path
        self.operation = operation
        self.errno = errno
    }

    /// The errno's symbolic name, e.g. `EBUSY`.
    public var errnoName: String { Errno.name(errno) }

    public var description: String {
        "\(path): \(operation.rawValue) failed: \(Errno.message(errno)) (\(errnoName))"
    }
}

/// Names and messages of errno values, for log lines a person can act on.
public enum Errno {
    /// The symbolic name of an errno value (`EACCES`), or `errno N` for others.
    public static func name(_ value: Int32) -> String {
        switch value {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case EIO: "EIO"
        case EACCES: "EACCES"
        case EBUSY: "EBUSY"
        case ENODEV: "ENODEV"
        case EINVAL: "EINVAL"
        case EROFS: "EROFS"
        case ENOSYS: "ENOSYS"
        case EAGAIN: "EAGAIN"
        case ENOTDIR: "ENOTDIR"
        case ENOSPC: "ENOSPC"
        default: "errno \(value)"
        }
    }

    /// The C library's message for an errno value.
    public static func message(_ value: Int32) -> String {
        guard let text = strerror(value) else { return "error \(value)" }
        return String(cString: text)
    }
}
