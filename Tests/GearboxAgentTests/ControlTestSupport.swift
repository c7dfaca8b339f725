import Foundation
import GearboxAgent
import GearboxControl
import GearboxCore
import GearboxLinux
import GearboxTestSupport
import Glibc
import Logging

// Shared by the control-socket tests: real sockets, real child processes.

/// A fresh directory under /tmp, searchable by every user (unprivileged children reach its socket).
struct ScratchDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/gearbox-control-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        path = String(cString: made)
        chmod(path, 0o755)
    }

    func file(_ name: String) -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A connected client of a Unix stream socket, reading answers line by line.
///
/// Every wait has a deadline, and missing it is an error, never "no answer": an answer that
/// comes late would otherwise be read as the answer to the next request, and every later one
/// would be shifted by a line. After any failure the client refuses to go on, for the same reason.
final class LineClient: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// How long to wait for an answer. Generous: in the full parallel `swift test` on 2 cores
    /// the server's handler tasks wait behind other suites' work on the shared pool; the
    /// deadline is there so a server that never answers fails the test instead of hanging it.
    /// Seen in a full run: the pool held for about 140 s by suites that run processes and
    /// simulations synchronously, so the deadline is longer than the whole suite takes.
    static let answerDeadline: Double = 600

    let descriptor: Int32
    private var buffer: [UInt8] = []
    private var broken: String?

    init(path: String) throws {
        // The descriptor is stored only once connected: a class whose init throws after every
        // property is set still runs deinit, which would close it a second time (by then
        // perhaps another thread's descriptor).
        let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard client >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(client)
            throw POSIXError(.init(rawValue: code) ?? .EIO)
        }
        descriptor = client
    }

    deinit { close(descriptor) }

    private func fail(_ reason: String) -> Failure {
        broken = broken ?? reason
        return Failure(description: reason)
    }

    /// Writes all of `text`, however the kernel splits it.
    func send(_ text: String) throws(Failure) {
        try send(bytes: Array(text.utf8))
    }

    /// Writes all of `bytes` (which need not be UTF-8), however the kernel splits them.
    func send(bytes: [UInt8]) throws(Failure) {
        if let broken { throw Failure(description: "client unusable after: \(broken)") }
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent > 0 {
                offset += sent
            } else if sent < 0 && errno == EINTR {
                continue
            } else {
                throw fail("send failed after \(offset) of \(bytes.count) bytes: errno \(errno)")
            }
        }
    }

    /// The next line, or nil when the server closed the connection at a line boundary.
    /// Throws when no whole line arrives within `deadline` seconds.
    func readLine(deadline: Double = LineClient.answerDeadline) throws(Failure) -> String? {
        if let broken { throw Failure(description: "client unusable after: \(broken)") }
        let end = Date().addingTimeInterval(deadline)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                defer { buffer.removeSubrange(...newline) }
                return String(decoding: buffer[..<newline], as: UTF8.self)
            }
            let remaining = end.timeIntervalSinceNow
            guard remaining > 0 else {
                throw fail("no whole line within \(deadline) s (\(buffer.count) bytes of a partial line)")
            }
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, Int32(min(remaining * 1000 + 1, 60_000)))
            // Children exiting elsewhere in the test process may interrupt the wait: go on.
            if ready < 0 && errno == EINTR { continue }
            guard ready >= 0 else { throw fail("poll failed: errno \(errno)") }
            if ready == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer += chunk[..<count]
            } else if count == 0 || errno == ECONNRESET {
                // ECONNRESET: the server closed while our request was still unread (an overlong
                // line); what it sent before closing was read first.
                guard buffer.isEmpty else { throw fail("connection closed inside a line: \(buffer.count) bytes") }
                return nil
            } else if errno == EINTR {
                continue
            } else {
                throw fail("read failed: errno \(errno)")
            }
        }
    }

    /// Sends one line and parses the answer line; an answer that is missing or is not JSON throws.
    func ask(_ line: String) throws -> JSONValue {
        try send(line + "\n")
        guard let answer = try readLine() else { throw fail("connection closed with no answer to \(line)") }
        do {
            return try JSONParser.parse(answer)
        } catch {
            throw fail("answer to \(line) is not JSON: \(answer)")
        }
    }
}


/// What a finished child left.
struct ChildOutput: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion (killed after `timeout` seconds, a guard against a hang only)
/// on its own thread.
func runChild(_ executable: String, _ arguments: [String], timeout: Double = 120) async throws -> ChildOutput {
    let child = try SpawnedChild(executable, arguments)
    return await blocking { child.finish(timeout: timeout) }
}

/// A child process started with posix_spawn and reaped here with waitpid.
///
/// Not Foundation's `Process`: async tests run on libdispatch worker threads, which block
/// nearly every signal, and `Process` hands that mask to the child (a server started so
/// ignores SIGTERM). Here the child starts with an empty mask and default dispositions.
final class SpawnedChild: @unchecked Sendable {
    let pid: pid_t
    private let output: Int32
    private let errors: Int32
    private var reaped: Int32?

    init(_ executable: String, _ arguments: [String]) throws {
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard pipe(&out) == 0, pipe(&err) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        // Close-on-exec, so that no other child holds these pipes open (dup2 clears it on 1 and 2).
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        close(out[1])
        close(err[1])
        guard spawned == 0 else {
            close(out[0])
            close(err[0])
            throw POSIXError(.init(rawValue: spawned) ?? .EIO)
        }
        self.pid = pid
        output = out[0]
        errors = err[0]
    }

    deinit {
        if reaped == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(output)
        close(errors)
    }

    func signal(_ number: Int32) { if reaped == nil { kill(pid, number) } }

    /// Reads stdout and stderr to their end (SIGKILL after `timeout` seconds), then reaps the child.
    func finish(timeout: Double = 20) -> ChildOutput {
        var collected: [[UInt8]] = [[], []]
        var open = [true, true]
        let deadline = Date().addingTimeInterval(timeout)
        while open.contains(true) {
            var entries = [pollfd(fd: open[0] ? output : -1, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: open[1] ? errors : -1, events: Int16(POLLIN), revents: 0)]
            if poll(&entries, 2, 100) < 0 && errno != EINTR { break }
            for i in 0..<2 where open[i] && entries[i].revents != 0 {
                var chunk = [UInt8](repeating: 0, count: 65_536)
                let count = chunk.withUnsafeMutableBytes { read(entries[i].fd, $0.baseAddress, $0.count) }
                if count > 0 { collected[i] += chunk[..<count] } else { open[i] = false }
            }
            if Date() > deadline {
                kill(pid, SIGKILL)
                break
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        reaped = code
        return ChildOutput(status: code, stdout: String(decoding: collected[0], as: UTF8.self),
                           stderr: String(decoding: collected[1], as: UTF8.self))
    }
}

/// Whether a server accepts connections on `path` now (the socket file appears at bind(2),
/// before listen(2): its existence is not enough). The connection is closed at once.
func acceptsConnections(_ path: String) -> Bool {
    (try? LineClient(path: path)) != nil
}

/// Waits on this thread (run it through `blocking`) until `condition` holds or `seconds` pass;
/// whether it held.
func waitFor(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > deadline { return false }
        usleep(10_000)
    }
    return true
}

/// Waits until `condition` holds or `timeout` seconds pass.
func eventually(timeout: Double = 5, _ condition: @escaping @Sendable () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline { return false }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return true
}

let quietLogger: Logger = {
    var logger = Logger(label: "gearbox-control-test")
    logger.logLevel = .critical
    return logger
}()
