import Foundation
import GearboxLinux
import Glibc
import Testing

/// sd_notify through the real libsystemd, in a child (the probe) whose NOTIFY_SOCKET is a
/// datagram socket bound by the test, as systemd's own would be.
@Suite struct SystemdNotifierTests {
    /// A bound AF_UNIX datagram socket standing in for systemd's notification socket.
    final class NotificationSocket {
        let path: String
        let descriptor: Int32

        init(path: String) throws {
            self.path = path
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard bound == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        /// Messages until one holds STOPPING=1, or none comes for 5 s.
        func receiveUntilStopping() -> [String] {
            var messages: [String] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                guard count > 0 else { return messages }
                let message = String(decoding: buffer[..<count], as: UTF8.self)
                messages.append(message)
                if message.contains("STOPPING=1") { return messages }
            }
        }

        deinit {
            close(descriptor)
            unlink(path)
        }
    }

    private func probeEnvironment(_ extra: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] { environment[name] = nil }
        return environment.merging(extra) { _, new in new }
    }

    @Test func readyStatusWatchdogAndStoppingArriveInOrder() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socket = try NotificationSocket(path: directory.file("notify"))
        let probe = try Child(
            TestBinaries.probe, ["notify", "3"],
            environment: probeEnvironment(["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "3000000"])
        )
        let messages = socket.receiveUntilStopping()
        let result = probe.finish()
        #expect(result.status == 0, "\(result)")
        #expect(messages == [
            "READY=1\nSTATUS=probe starting",
            "STATUS=probe running second line",
            "WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1",
            "STOPPING=1\nSTATUS=probe stopping",
        ])
        // Pings go at half of WATCHDOG_USEC.
        #expect(result.standardOutput.contains("watchdog_timeout_us=3000000 ping_interval_us=1500000"))
    }

    @Test(arguments: [
        ("no WATCHDOG_USEC", [String: String]()),
        ("watchdog meant for another process", ["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"]),
    ])
    func watchdogOffSendsNoPings(_ situation: String, _ watchdog: [String: String]) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socket = try NotificationSocket(path: directory.file("notify"))
        let probe = try Child(
            TestBinaries.probe, ["notify", "3"],
            environment: probeEnvironment(watchdog.merging(["NOTIFY_SOCKET": socket.path]) { $1 })
        )
        let messages = socket.receiveUntilStopping()
        let result = probe.finish()
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput.contains("watchdog=off"), "\(situation)")
        #expect(!messages.contains("WATCHDOG=1"), "\(situation)")
        #expect(messages.first == "READY=1\nSTATUS=probe starting")
        #expect(messages.last == "STOPPING=1\nSTATUS=probe stopping")
    }

    @Test func unreachableNotifySocketIsAnErrorWithErrno() throws {
        let result = try Child.run(
            TestBinaries.probe, ["notify"],
            environment: probeEnvironment(["NOTIFY_SOCKET": "/nonexistent/gearbox-notify"])
        )
        #expect(result.status == 3)
        #expect(result.standardError.contains("cannot notify systemd (READY=1): No such file or directory (errno 2)"), "\(result)")
    }

    @Test(.enabled(if: getenv("NOTIFY_SOCKET") == nil, "this test process was itself given a NOTIFY_SOCKET"))
    func withoutNotifySocketNothingIsSent() throws {
        let notifier = SystemdNotifier()
        #expect(!notifier.isEnabled)
        #expect(try notifier.ready(status: "x") == false)
        #expect(try notifier.watchdog() == false)
        #expect(try notifier.stopping() == false)
    }

    @Test func statusIsOneLine() {
        #expect(SystemdNotifier.State.status("a\nb\r\nc").assignment == "STATUS=a b c")
        #expect(SystemdNotifier.State.reloading.assignment == "RELOADING=1")
    }
}
