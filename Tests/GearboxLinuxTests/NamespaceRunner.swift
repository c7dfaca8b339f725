import Foundation
import GearboxTestSupport
import Testing

extension Trait where Self == ConditionTrait {
    /// Runs the test only where a private mount namespace can be made (root, unshare); else it
    /// is skipped with the reason.
    static var needsMountNamespace: Self {
        .enabled(if: NamespaceRunner.unavailableReason == nil,
                 Comment(rawValue: NamespaceRunner.unavailableReason ?? "mount namespaces work"))
    }
}

/// Runs a built executable of this package inside a private mount namespace with a tree
/// bind-mounted over /sys/devices/system/cpu (and optionally one over /sys/class), as
/// docs/testing.md says how the cpufreq tests run.
enum NamespaceRunner {
    struct Result: Sendable {
        var status: Int32
        /// True when a signal ended the process (then `status` is the signal number).
        var killedBySignal = false
        var stdout: String
        var stderr: String
        /// Log lines the probe wrote (JSON objects on stderr).
        var logLines: [[String: Any]] {
            stderr.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
            }
        }
    }

    /// Why namespace tests cannot run here, or nil when they can.
    static let unavailableReason: String? = {
        guard geteuid() == 0 else { return "not root: mount namespaces need root (tests skipped)" }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return "unshare not installed" }
        guard FileManager.default.fileExists(atPath: "/sys/devices/system/cpu") else { return "no /sys/devices/system/cpu to mount over" }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        probe.arguments = ["-m", "--propagation", "private", "true"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return "unshare cannot run" }
        probe.waitUntilExit()
        return probe.terminationStatus == 0 ? nil : "unshare -m fails here (no CAP_SYS_ADMIN?)"
    }()

    /// Whether `chrt -f` may be used here.
    static let chrtWorks: Bool = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/chrt")
        probe.arguments = ["-f", "20", "true"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        if probe.terminationStatus != 0 { print("chrt -f not permitted: timing tests run at normal priority") }
        return probe.terminationStatus == 0
    }()


    /// The folder holding the built products (`BuiltProducts`, shared by the test targets).
    static var productsDirectory: URL { BuiltProducts.directory }

    /// Runs `tool arguments...` with `cpuTree` on /sys/devices/system/cpu and `classTree`
    /// (a directory holding e.g. `powercap/`) on /sys/class. `start` lets the caller act on
    /// the running process (to kill it); the result is collected when it exits. With
    /// `liveStandardError`, the standard error is gathered there as it comes, so that `start`
    /// can wait for a line (stdout stays for `start` to read).
    static func run(
        _ tool: String, _ arguments: [String], cpuTree: URL, classTree: URL? = nil,
        environment: [String: String] = [:], timeout: TimeInterval = 60, realtime: Bool = false,
        launcher: [String] = [], liveStandardError: LiveOutput? = nil,
        start: ((Process, FileHandle) throws -> Void)? = nil
    ) throws -> Result {
        var script = "mount --bind \"$1\" /sys/devices/system/cpu || exit 97\n"
        if classTree != nil { script += "mount --bind \"$2\" /sys/class || exit 98\n" }
        // Timing tests run the tool with real-time priority (as a deployment could with
        // CPUSchedulingPolicy=fifo), so that other tests on the same two cores do not stall it.
        script += realtime && chrtWorks ? "shift 2\nexec chrt -f 20 \"$@\"\n" : "shift 2\nexec \"$@\"\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["-m", "--propagation", "private", "/bin/sh", "-c", script, "sh",
                             cpuTree.path, classTree?.path ?? "-"] + launcher
            + [productsDirectory.appendingPathComponent(tool).path] + arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let standardError = liveStandardError ?? LiveOutput()
        let group = DispatchGroup()
        group.enter()
        Self.onThreadOfItsOwn {
            standardError.gather(from: err.fileHandleForReading)
            group.leave()
        }
        do {
            try start?(process, out.fileHandleForReading)
        } catch {
            // A failed wait must not leave the tool running over the fixture.
            process.terminate()
            process.waitUntilExit()
            throw error
        }
        let collected = Collected()
        group.enter()
        Self.onThreadOfItsOwn {
            collected.set(out.fileHandleForReading.readDataToEndOfFile(), stdout: true)
            group.leave()
        }
        if group.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            group.wait()
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      killedBySignal: process.terminationReason == .uncaughtSignal,
                      stdout: String(decoding: collected.stdout, as: UTF8.self),
                      stderr: standardError.text)
    }

    /// A child's output as far as it has come, read on another thread.
    final class LiveOutput: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()

        var text: String {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: data, as: UTF8.self)
        }

        /// Reads `handle` to its end.
        func gather(from handle: FileHandle) {
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return }
                lock.lock()
                data.append(chunk)
                lock.unlock()
            }
        }

        /// Waits until the output contains `fragment`; whether it did within `timeout`.
        func waitFor(_ fragment: String, timeout: Duration = .seconds(60)) -> Bool {
            waitUntil(timeout: timeout) { text.contains(fragment) }
        }
    }

    /// Runs `body` (a read that blocks until a child closes its pipe) on a new thread.
    /// Dispatch's global queue runs as many blocking items at once as there are CPUs: with
    /// two cores, two long runs reading their pipes there (a package build) left another
    /// test's reader waiting for minutes, and its log empty.
    static func onThreadOfItsOwn(_ body: @escaping @Sendable () -> Void) {
        Thread.detachNewThread(body)
    }

    /// Output gathered by the reader threads.
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var stdout = Data()
        private(set) var stderr = Data()
        func set(_ data: Data, stdout isOut: Bool) {
            lock.lock()
            defer { lock.unlock() }
            if isOut { stdout = data } else { stderr = data }
        }
    }

    /// Runs the probe with `--step` for each step.
    static func probe(
        _ steps: [String], tree: FixtureTree, state: URL, extra: [String] = [], environment: [String: String] = [:],
        realtime: Bool = false, start: ((Process, FileHandle) throws -> Void)? = nil
    ) throws -> Result {
        let arguments = ["--state", state.path] + extra + steps.flatMap { ["--step", $0] }
        return try run("gearbox-linux-probe", arguments, cpuTree: tree.cpuRoot, environment: environment,
                       realtime: realtime, start: start)
    }
}

/// One line of the write log CSysfsEmulation keeps: what reached "the kernel".
struct SysfsWrite: Equatable {
    var nanoseconds: Int64
    /// Path relative to /sys/devices/system/cpu/ (as libcpufreq named it, e.g. cpu0/cpufreq/scaling_setspeed).
    var path: String
    var value: String

    static func read(_ url: URL) -> [SysfsWrite] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count == 3, let ns = Int64(parts[0]) else { return nil }
            return SysfsWrite(nanoseconds: ns, path: parts[1].replacingOccurrences(of: "/sys/devices/system/cpu/", with: ""),
                              value: parts[2])
        }
    }
}
