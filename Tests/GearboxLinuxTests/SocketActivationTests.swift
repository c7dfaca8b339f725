import Foundation
import GearboxLinux
import Glibc
import Testing

/// systemd's own `systemd-socket-activate` binds the socket and starts the probe with
/// LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES, as systemd does for gearboxd.socket.
@Suite struct SocketActivationTests {
    static let activator = "/usr/bin/systemd-socket-activate"

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: activator), "systemd-socket-activate is not installed"))
    func inheritedSocketIsFoundNamedAndServes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("control.sock")
        let activator = try Child(Self.activator, ["-l", path, "--fdname=control", TestBinaries.probe, "listen"])
        defer { if activator.process.isRunning { kill(activator.pid, SIGKILL) } }
        // The activator starts the probe on the first connection; the probe answers with our credentials.
        let client = connectStream(to: path, retryingFor: .seconds(60))
        try #require(client >= 0, "connect: errno \(-client)")
        var reply = [UInt8](repeating: 0, count: 256)
        // Starting the probe on a loaded machine can take a while; the deadline only stops a hang.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var count: Int
        repeat { count = read(client, &reply, reply.count) } while count < 0 && errno == EINTR
        close(client)
        let result = activator.finish(timeout: .seconds(60))
        #expect(result.status == 0, "\(result)")
        #expect(count > 0 && String(decoding: reply[..<max(count, 0)], as: UTF8.self) == "\(getuid()) \(getgid()) \(getpid())\n")
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first == "count=1 listen_env_cleared=true", "\(result)")
        #expect(lines.dropFirst().first == "fd=\(SD_LISTEN_FDS_START_VALUE) name=control path=\(path)")
    }

    @Test func notActivatedMeansNoSockets() throws {
        // This test process was not started by systemd with LISTEN_PID naming it.
        let environment = ProcessInfo.processInfo.environment
        let pidMatches = environment["LISTEN_PID"].flatMap { pid_t($0) } == getpid()
        try #require(!pidMatches, "the test process itself was socket-activated")
        #expect(try SocketActivation.listeningSockets(unsetEnvironment: false).isEmpty)
    }

    @Test func socketsForAnotherProcessAreNotTaken() throws {
        // LISTEN_PID names someone else (pid 1): sd_listen_fds must ignore the variables.
        var environment = ProcessInfo.processInfo.environment
        environment["LISTEN_FDS"] = "1"
        environment["LISTEN_PID"] = "1"
        let result = try Child.run(TestBinaries.probe, ["listen"], environment: environment)
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput.hasPrefix("count=0"))
    }
}

/// SD_LISTEN_FDS_START (3) from sd-daemon.h.
let SD_LISTEN_FDS_START_VALUE: Int32 = 3
