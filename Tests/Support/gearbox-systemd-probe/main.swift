// A test-only child process for GearboxLinuxTests: sd_notify and sd_listen_fds read the
// process environment (NOTIFY_SOCKET, LISTEN_PID), so they are exercised in a child that
// the test starts with that environment. Not installed; not part of the product.
//
//   gearbox-systemd-probe notify [PINGS]   READY, STATUS, PINGS x WATCHDOG (when enabled), STOPPING
//   gearbox-systemd-probe listen           take sockets from systemd, report them, answer one peer
//   gearbox-systemd-probe connect PATH     connect to a Unix stream socket, copy what it says to stdout
//   gearbox-systemd-probe log DEST ID      bootstrap logging to DEST (journald|stderr|automatic), log one record
import GearboxLinux
import Glibc
import Logging

func writeAll(_ text: String, to descriptor: Int32) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    writeAll("gearbox-systemd-probe: \(message)\n", to: STDERR_FILENO)
    exit(3)
}

/// One unbuffered line on stdout, so the test sees it even if the probe is killed.
func say(_ line: String) {
    writeAll(line + "\n", to: STDOUT_FILENO)
}

func notify(pings: Int) {
    let notifier = SystemdNotifier()
    do {
        try notifier.ready(status: "probe starting")
        try notifier.status("probe running\nsecond line")
        if let timeout = notifier.watchdogTimeout, let interval = notifier.watchdogPingInterval {
            say("watchdog_timeout_us=\(Int(timeout / .microseconds(1))) ping_interval_us=\(Int(interval / .microseconds(1)))")
            for _ in 0..<pings { try notifier.watchdog() }
        } else {
            say("watchdog=off")
        }
        try notifier.stopping(status: "probe stopping")
    } catch {
        fail("\(error)")
    }
}

func listen() {
    let listeners: [SocketListener]
    do { listeners = try SocketActivation.listeningSockets() } catch { fail("\(error)") }
    say("count=\(listeners.count) listen_env_cleared=\(getenv("LISTEN_FDS") == nil)")
    for listener in listeners {
        say("fd=\(listener.fileDescriptor) name=\(listener.name ?? "-") path=\(listener.path ?? "-")")
    }
    guard let first = listeners.first else { return }
    do {
        let connection = try first.accept()
        let peer = try SocketPeerCredentials.of(connection: connection)
        let reply = Array("\(peer.uid) \(peer.gid) \(peer.pid)\n".utf8)
        _ = reply.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
        close(connection)
    } catch {
        fail("\(error)")
    }
}

func connect(path: String) {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { fail("path too long: \(path)") }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard result == 0 else { fail("connect \(path): errno \(errno)") }
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(descriptor, &buffer, buffer.count)
        if count <= 0 { break }
        _ = buffer.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, count) }
    }
}

func log(destination: String, testID: String) {
    guard let destination = JournalLogging.Destination(rawValue: destination) else { fail("unknown destination \(destination)") }
    JournalLogging.bootstrap(destination: destination, identifier: "gearbox-probe")
    let logger = Logger(label: "gearbox.probe")
    logger.notice("probe record", metadata: ["test.id": "\(testID)", "event": "probe", "cpus": ["0", "1"]])
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "notify": notify(pings: arguments.dropFirst().first.flatMap { Int($0) } ?? 2)
case "listen": listen()
case "connect" where arguments.count == 2: connect(path: arguments.last!)
case "log" where arguments.count == 3: log(destination: arguments.dropFirst().first!, testID: arguments.last!)
default: fail("usage: gearbox-systemd-probe notify [PINGS] | listen | connect PATH | log DEST ID")
}
