import Foundation
import Glibc

// Shared by the GearboxLinux tests that run child processes (the probe, systemd tools).

/// Paths of executables built alongside the tests.
enum TestBinaries {
    /// The build products directory: the test bundle lives there, next to the executables.
    static var directory: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: executable)
        // swift test runs .build/<triple>/debug/gearboxPackageTests.xctest (a file on Linux).
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("gearbox-systemd-probe").path) {
            url.deleteLastPathComponent()
        }
        return url.path
    }

    /// The test-only probe (Tests/Support/gearbox-systemd-probe).
    static var probe: String { directory + "/gearbox-systemd-probe" }
}

/// What a finished child process left behind.
struct ChildResult {
    var status: Int32
    var standardOutput: String
    var standardError: String
    var timedOut: Bool
}

/// A child process started by a test, with its output captured.
final class Child {
    let process = Process()
    private let output = Pipe()
    private let error = Pipe()

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = output
        process.standardError = error
        try process.run()
    }

    var pid: pid_t { process.processIdentifier }

    /// Waits up to `timeout` for the child to exit (SIGKILL after that) and collects its output.
    func finish(timeout: Duration = .seconds(10)) -> ChildResult {
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while process.isRunning {
            if ContinuousClock.now > deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            usleep(5_000)
        }
        process.waitUntilExit()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return ChildResult(status: process.terminationStatus, standardOutput: out, standardError: err, timedOut: timedOut)
    }

    /// Runs a child to completion.
    static func run(
        _ executable: String, _ arguments: [String],
        environment: [String: String]? = nil, timeout: Duration = .seconds(10)
    ) throws -> ChildResult {
        try Child(executable, arguments, environment: environment).finish(timeout: timeout)
    }
}

/// A fresh directory under /tmp, world-searchable so that unprivileged children reach it.
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/gearbox-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        path = String(cString: made)
        chmod(path, 0o755)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Waits until `condition` holds or `timeout` passes; returns whether it held.
func waitUntil(timeout: Duration = .seconds(5), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now > deadline { return false }
        usleep(10_000)
    }
    return true
}

let runningAsRoot = getuid() == 0
