import Foundation
import GearboxLinux
import Glibc
import Testing

/// Connects to the Unix stream socket at `path`; the connected descriptor, or -errno.
func connectStream(to path: String) -> Int32 {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    if result == 0 { return descriptor }
    let failure = errno
    close(descriptor)
    return -failure
}

/// Connects to `path`, retrying while nothing listens there yet: the file appears at bind(2),
/// a moment before listen(2), and connecting in between is refused. Other errors, or the
/// deadline passing, give the last -errno.
func connectStream(to path: String, retryingFor timeout: Duration) -> Int32 {
    var result = connectStream(to: path)
    let deadline = ContinuousClock.now + timeout
    while (result == -ECONNREFUSED || result == -ENOENT) && ContinuousClock.now < deadline {
        usleep(10_000)
        result = connectStream(to: path)
    }
    return result
}

/// Whether `listener` has a connection waiting within `timeout` milliseconds.
func hasPendingConnection(_ listener: SocketListener, timeout: Int32 = 5_000) -> Bool {
    var entry = pollfd(fd: listener.fileDescriptor, events: Int16(POLLIN), revents: 0)
    return poll(&entry, 1, timeout) == 1
}

@Suite struct SocketListenerTests {
    @Test func bindSetsModeAndGroupAndAccepts() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("control.sock")
        let listener = try SocketListener.bind(path: path, mode: 0o660, group: 65534)
        defer { listener.close() }
        var status = stat()
        try #require(lstat(path, &status) == 0)
        #expect(status.st_mode & S_IFMT == S_IFSOCK)
        #expect(status.st_mode & 0o7777 == 0o660)
        #expect(status.st_gid == 65534)
        #expect(listener.path == path && listener.name == nil)

        let client = connectStream(to: path)
        try #require(client >= 0, "connect: errno \(-client)")
        defer { close(client) }
        let connection = try listener.accept()
        defer { close(connection) }
        #expect(fcntl(connection, F_GETFD) & FD_CLOEXEC != 0)
        let peer = try SocketPeerCredentials.of(connection: connection)
        #expect(peer == SocketPeerCredentials(pid: getpid(), uid: getuid(), gid: getgid()))
    }

    @Test func staleSocketIsReplacedLiveOneIsNot() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("control.sock")
        let first = try SocketListener.bind(path: path, mode: 0o666)
        #expect(throws: SocketError(.bind, subject: path, errno: EADDRINUSE)) {
            try SocketListener.bind(path: path, mode: 0o666)
        }
        // As after a crash: the descriptor is gone, the file stays.
        close(first.fileDescriptor)
        #expect(FileManager.default.fileExists(atPath: path))
        let second = try SocketListener.bind(path: path, mode: 0o666)
        defer { second.close() }
        let client = connectStream(to: path)
        #expect(client >= 0)
        if client >= 0 { close(client) }
    }

    @Test func closeRemovesTheFileItBound() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("control.sock")
        try SocketListener.bind(path: path, mode: 0o666).close()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func refusesToReplaceAFileThatIsNotASocket() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("plan.json")
        try "{}".write(toFile: path, atomically: false, encoding: .utf8)
        let error = #expect(throws: SocketError.self) { try SocketListener.bind(path: path, mode: 0o666) }
        #expect(error == SocketError(.bind, subject: path, errno: EEXIST))
        #expect(error?.description == "cannot bind \(path): File exists (errno 17)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{}")
    }

    @Test func errorsNameThePath() throws {
        let long = "/tmp/" + String(repeating: "x", count: 120)
        #expect(throws: SocketError(.bind, subject: long, errno: ENAMETOOLONG)) {
            try SocketListener.bind(path: long, mode: 0o666)
        }
        let missing = "/nonexistent-gearbox-dir/control.sock"
        let error = #expect(throws: SocketError.self) { try SocketListener.bind(path: missing, mode: 0o666) }
        #expect(error?.description == "cannot bind \(missing): No such file or directory (errno 2)")
    }

    @Test func peerCredentialsOfASocketPair() throws {
        var pair: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        defer { close(pair[0]); close(pair[1]) }
        let peer = try SocketPeerCredentials.of(connection: pair[0])
        #expect(peer.uid == getuid())
        #expect(peer.gid == getgid())
        #expect(peer.pid == getpid())
        #expect(throws: SocketError(.peerCredentials, subject: "descriptor -1", errno: EBADF)) {
            try SocketPeerCredentials.of(connection: -1)
        }
    }
}

/// An unprivileged client (setpriv to nobody) against a socket bound by the test: the
/// mode decides who may connect, SO_PEERCRED tells who did, the policy decides what they may do.
@Suite(.enabled(if: runningAsRoot, "needs root to run a client as another user with setpriv"))
struct SocketUnprivilegedPeerTests {
    static let nobody: uid_t = 65534
    static let nogroup: gid_t = 65534

    private func runAsNobody(_ arguments: [String]) throws -> Child {
        try Child("/usr/bin/setpriv", [
            "--reuid=\(Self.nobody)", "--regid=\(Self.nogroup)", "--clear-groups", TestBinaries.probe,
        ] + arguments)
    }

    @Test func openSocketTellsWhoConnectedAndPolicyRefusesChanges() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("control.sock")
        let listener = try SocketListener.bind(path: path, mode: 0o666)
        defer { listener.close() }
        let client = try runAsNobody(["connect", path])
        guard hasPendingConnection(listener) else {
            Issue.record("no connection from the unprivileged client: \(client.finish(timeout: .seconds(1)))")
            return
        }
        let connection = try listener.accept()
        let peer = try SocketPeerCredentials.of(connection: connection)
        _ = Array("refused\n".utf8).withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
        close(connection)
        let result = client.finish()
        #expect(peer == SocketPeerCredentials(pid: client.pid, uid: Self.nobody, gid: Self.nogroup))
        #expect(result.standardOutput == "refused\n")
        #expect(!SocketAccessPolicy(group: 0).permitsChanges(by: peer))
        #expect(!SocketAccessPolicy(group: nil).permitsChanges(by: peer))
        #expect(SocketAccessPolicy(group: Self.nogroup).permitsChanges(by: peer))
    }

    @Test func ownerOnlySocketRefusesOtherUsers() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("control.sock")
        let listener = try SocketListener.bind(path: path, mode: 0o600)
        defer { listener.close() }
        let result = try runAsNobody(["connect", path]).finish()
        #expect(result.status == 3)
        #expect(result.standardError.contains("errno \(EACCES)"), "\(result)")
        #expect(!hasPendingConnection(listener, timeout: 0))
    }
}
