import Foundation
import GearboxAgent
import GearboxControl
import GearboxCore
import GearboxLinux
import Glibc
import Logging

// Shared by the control-socket tests: real sockets, real child processes.

/// Runs blocking work (socket reads, waiting for a child) on its own thread, so that the
/// concurrency pool stays free for the server's handler tasks.
func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

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
final class LineClient: @unchecked Sendable {
    let descriptor: Int32
    private var buffer: [UInt8] = []

    init(path: String, timeoutSeconds: Int = 30) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw POSIXError(.init(rawValue: code) ?? .EIO)
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { return }
            offset += sent
        }
    }

    /// The next line, or nil at end of stream or timeout.
    func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                defer { buffer.removeSubrange(...newline) }
                return String(decoding: buffer[..<newline], as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            // Children exiting elsewhere in the test process deliver SIGCHLD: retry, not give up.
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            buffer += chunk[..<count]
        }
    }

    /// Sends one line and parses the answer line.
    func ask(_ line: String) -> JSONValue? {
        send(line + "\n")
        return readLine().flatMap { try? JSONParser.parse($0) }
    }
}

/// The folder holding the built executables (gearboxctl, the probes): beside the test bundle.
enum BuiltProducts {
    static let directory: String = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("gearboxctl").path) { return url.path }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug").standardized.path
    }()

    static var gearboxctl: String { directory + "/gearboxctl" }
    static var controlProbe: String { directory + "/gearbox-control-probe" }
}

/// What a finished child left.
struct ChildOutput: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion (killed after `timeout` seconds) on its own thread.
func runChild(_ executable: String, _ arguments: [String], timeout: Double = 20) async throws -> ChildOutput {
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
