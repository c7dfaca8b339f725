import CSystemd
import Glibc

/// A listening Unix stream socket: bound by the agent itself, or inherited from systemd.
public struct SocketListener: Sendable, Equatable {
    /// The listening socket's file descriptor.
    public let fileDescriptor: Int32
    /// The filesystem path it listens on, when it has one.
    public let path: String?
    /// The name systemd gave it (`FileDescriptorName=`, default the socket unit's name); nil when bound here.
    public let name: String?

    public init(fileDescriptor: Int32, path: String?, name: String?) {
        self.fileDescriptor = fileDescriptor
        self.path = path
        self.name = name
    }

    /// Binds and listens on a Unix stream socket at `path`, then sets its mode and group.
    ///
    /// A socket file left by a process that has gone (it refuses connections) is removed
    /// first; a live one, or a file that is not a socket, is an error (EADDRINUSE, EEXIST).
    /// Changing the group to one the process is not in needs CAP_CHOWN.
    public static func bind(
        path: String,
        mode: mode_t,
        group: gid_t? = nil,
        backlog: Int32 = 16
    ) throws(SocketError) -> SocketListener {
        guard let address = SocketAddress.unix(path: path) else {
            throw SocketError(.bind, subject: path, errno: ENAMETOOLONG)
        }
        try removeStaleSocket(at: path, address: address)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SocketError(.create, subject: path, errno: errno) }
        do throws(SocketError) {
            try check(address.withSockaddr { Glibc.bind(descriptor, $0, $1) }, .bind, path)
            // The file takes its mode from the umask at bind; set the one asked for
            // before listen(), so no one connects while it is wrong.
            try check(chmod(path, mode), .setMode, path)
            if let group {
                try check(chown(path, uid_t.max, group), .setGroup, path)
            }
            try check(listen(descriptor, backlog), .listen, path)
        } catch {
            _ = Glibc.close(descriptor)
            unlink(path)
            throw error
        }
        return SocketListener(fileDescriptor: descriptor, path: path, name: nil)
    }

    /// Waits for a connection and returns its descriptor (close-on-exec). Calls `accept4(2)`.
    public func accept() throws(SocketError) -> Int32 {
        while true {
            let connection = accept4(fileDescriptor, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
            if connection >= 0 { return connection }
            if errno == EINTR { continue }
            throw SocketError(.accept, subject: path, errno: errno)
        }
    }

    /// Closes the socket, and removes its file when this process bound it (not when systemd owns it).
    public func close() {
        _ = Glibc.close(fileDescriptor)
        if name == nil, let path {
            unlink(path)
        }
    }

    private static func removeStaleSocket(at path: String, address: SocketAddress) throws(SocketError) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw SocketError(.bind, subject: path, errno: EEXIST)
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw SocketError(.create, subject: path, errno: errno) }
        defer { _ = Glibc.close(probe) }
        if address.withSockaddr({ connect(probe, $0, $1) }) == 0 {
            throw SocketError(.bind, subject: path, errno: EADDRINUSE)
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw SocketError(.removeStale, subject: path, errno: errno)
        }
    }

    private static func check(_ result: Int32, _ operation: SocketError.Operation, _ path: String) throws(SocketError) {
        if result != 0 { throw SocketError(operation, subject: path, errno: errno) }
    }
}
