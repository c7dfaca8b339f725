import Foundation
import Glibc
import GearboxTestSupport
import Testing

/// gearboxd confining a queue's service (docs/agent.md, "Confining a queue's service"), end to
/// end: the shipped agent over a fixture cpufreq tree in a private mount namespace, a real
/// CPU-bound process with several threads in a cgroup of this host's cpuset hierarchy, and the
/// kernel's own record of where each thread may run (`Cpus_allowed_list`).
@Suite(.serialized, .needsMountNamespace) struct ConfinementEndToEndTests {
    static func queue(_ confinement: String, cpus: String) -> String {
        """
        [[queue]]
        name = "web"
        arrival_rate = 200
        mean_work_ms = 2
        latency = { mean_ms = 10 }
        cpus = "\(cpus)"
        \(confinement)
        """
    }

    static func setQueueCPUs(_ agent: AgentUnderFault, from old: String, to new: String) throws {
        let config = try String(contentsOfFile: agent.configPath, encoding: .utf8)
        try config.replacingOccurrences(of: "cpus = \"\(old)\"", with: "cpus = \"\(new)\"")
            .write(toFile: agent.configPath, atomically: true, encoding: .utf8)
    }

    @Test(.enabled(if: TestCpuset.unavailableReason == nil, Comment(rawValue: TestCpuset.unavailableReason ?? "a cpuset hierarchy is writable")))
    func threadsFollowEachPlanAndAreRestoredOnStopAndAfterSIGKILL() throws {
        let cpuset = try TestCpuset()
        defer { cpuset.remove() }
        let worker = try SpinningWorker(threads: 3)
        defer { worker.stop() }
        try cpuset.adopt(worker.pid)
        #expect(waitUntil(timeout: .seconds(10)) { worker.threadCount >= 4 })
        let original = worker.allowedCPUs()
        let originalFile = cpuset.cpusText
        print("cpuset \(cpuset.directory) (\(cpuset.kind)): threads may run on \(original), cpuset.cpus \"\(originalFile)\"")
        try #require(original.count == 1 && original.first != "0" && original.first != "1", "threads must start on more than CPU 0 or 1: \(original)")

        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu", queues: Self.queue("cgroup = \"\(cpuset.directory)\"", cpus: "0"))
        defer { agent.remove() }
        let killed = try agent.run { process in
            #expect(waitUntil(timeout: .seconds(30)) { worker.allowedCPUs() == ["0"] }, "threads on \(worker.allowedCPUs()), wanted 0")
            let status = agent.control(["status", "--json"]).standardOutput
            #expect(status.contains("\"confined_cpus\": \"0\""), "\(status)")
            try Self.setQueueCPUs(agent, from: "0", to: "1")
            #expect(agent.control(["reload"]).status == 0)
            #expect(waitUntil(timeout: .seconds(30)) { worker.allowedCPUs() == ["1"] }, "threads on \(worker.allowedCPUs()), wanted 1")
            kill(process.processIdentifier, SIGKILL)
        }
        #expect(killed.killedBySignal)
        #expect(worker.allowedCPUs() == ["1"], "a killed agent restores nothing itself")
        let state = (try? String(contentsOfFile: agent.state + "/cpuset-state.json", encoding: .utf8)) ?? ""
        #expect(state.contains("\"clean\" : false") && state.contains(cpuset.directory), "\(state)")

        let restore = try agent.restore()
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(worker.allowedCPUs() == original)
        #expect(cpuset.cpusText == originalFile)

        // A normal run, stopped with SIGTERM, puts the original back too.
        try Self.setQueueCPUs(agent, from: "1", to: "0")
        let stopped = try agent.run { _ in
            #expect(waitUntil(timeout: .seconds(30)) { worker.allowedCPUs() == ["0"] }, "threads on \(worker.allowedCPUs()), wanted 0")
        }
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(worker.allowedCPUs() == original)
        #expect(cpuset.cpusText == originalFile)
        let cleanState = (try? String(contentsOfFile: agent.state + "/cpuset-state.json", encoding: .utf8)) ?? ""
        #expect(cleanState.contains("\"clean\" : true"), "\(cleanState)")
    }

    @Test(.enabled(if: TestCpuset.unavailableReason == nil, Comment(rawValue: TestCpuset.unavailableReason ?? "a cpuset hierarchy is writable")))
    func aDryRunLogsAndChangesNothing() throws {
        let cpuset = try TestCpuset()
        defer { cpuset.remove() }
        let before = cpuset.cpusText
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu", queues: Self.queue("cgroup = \"\(cpuset.directory)\"", cpus: "0"))
        defer { agent.remove() }
        let result = try NamespaceRunner.run(
            "gearboxd", ["--dry-run", "--once", "--config", agent.configPath, "--log-to", "stderr"],
            cpuTree: agent.tree.cpuRoot, environment: ["LD_PRELOAD": agent.preload])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("dry run: would confine queue web"), "\(result.stderr)")
        #expect(cpuset.cpusText == before)
        #expect(!FileManager.default.fileExists(atPath: agent.state + "/cpuset-state.json"))
    }

    @Test func aCgroupThatDoesNotExistIsLoggedOnceAndTheAgentKeepsGoing() throws {
        let missing = "/sys/fs/cgroup/gearbox-test-absent-\(getpid())"
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu", queues: Self.queue("cgroup = \"\(missing)\"", cpus: "0"))
        defer { agent.remove() }
        let result = try agent.run { _ in
            #expect(agent.waitForLog { $0.contains("cannot confine queue web") })
            try Self.setQueueCPUs(agent, from: "0", to: "1")
            #expect(agent.control(["reload"]).status == 0)
            #expect(agent.waitForLog { $0.contains("configuration reloaded") })
            #expect(agent.waitForPlan())
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(agent.logLines.filter { $0.contains("cannot confine queue web") }.count == 1, "logged once: \(agent.logLines)")
    }
}

/// A cgroup made for a test in whichever cpuset hierarchy this host lets root write: the v1
/// cpuset hierarchy, or cgroup v2 where its root offers the cpuset controller.
final class TestCpuset: @unchecked Sendable {
    enum Kind: String { case v1, v2 }
    let directory: String
    let kind: Kind

    static let v1Root = "/sys/fs/cgroup/cpuset"
    static let v2Roots = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]

    /// Where a test cgroup can be made, or nil.
    static var base: (String, Kind)? {
        if FileManager.default.fileExists(atPath: v1Root + "/cpuset.cpus") && access(v1Root, W_OK) == 0 { return (v1Root, .v1) }
        for root in v2Roots {
            let controllers = (try? String(contentsOfFile: root + "/cgroup.controllers", encoding: .utf8)) ?? ""
            if controllers.split(whereSeparator: \.isWhitespace).contains("cpuset") && access(root, W_OK) == 0 { return (root, .v2) }
        }
        return nil
    }

    static var unavailableReason: String? {
        guard getuid() == 0 else { return "needs root to make a cgroup" }
        guard base != nil else { return "no writable cpuset hierarchy (v1 cpuset mount, or cgroup v2 offering cpuset)" }
        guard sysconf(Int32(_SC_NPROCESSORS_ONLN)) >= 2 else { return "needs at least 2 online CPUs" }
        return nil
    }

    init() throws {
        let (root, kind) = try #require(Self.base)
        self.kind = kind
        directory = root + "/gearbox-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try #require(mkdir(directory, 0o755) == 0, "cannot make \(directory): \(String(cString: strerror(errno)))")
        if kind == .v1 {
            // A v1 cpuset takes no task before it has CPUs and memory nodes.
            try write(read(root + "/cpuset.mems"), to: directory + "/cpuset.mems")
            try write(read(root + "/cpuset.cpus"), to: directory + "/cpuset.cpus")
        }
    }

    var cpusText: String { (try? read(directory + "/cpuset.cpus")) ?? "(none)" }

    func adopt(_ pid: pid_t) throws { try write("\(pid)", to: directory + "/cgroup.procs") }

    func remove() {
        _ = waitUntil(timeout: .seconds(10)) { rmdir(directory) == 0 || errno == ENOENT }
    }

    private func read(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY)
        try #require(fd >= 0, "cannot open \(path): \(String(cString: strerror(errno)))")
        defer { close(fd) }
        let n = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        try #require(n >= 0, "cannot write \(text) to \(path): \(String(cString: strerror(errno)))")
    }
}

/// A CPU-bound process of several spinning threads, at the lowest priority.
final class SpinningWorker: @unchecked Sendable {
    let child: Child

    init(threads: Int) throws {
        let script = """
            import threading, time, os
            os.nice(19)
            def spin():
                x = 0
                while True:
                    x += 1
            for _ in range(\(threads)):
                threading.Thread(target=spin, daemon=True).start()
            while True:
                time.sleep(1)
            """
        child = try Child("/usr/bin/python3", ["-c", script])
    }

    var pid: pid_t { child.pid }

    var threadCount: Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").count) ?? 0 }

    /// The distinct `Cpus_allowed_list` values of the process's threads.
    func allowedCPUs() -> Set<String> {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var lists = Set<String>()
        for task in tasks {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
            for line in status.split(separator: "\n") where line.hasPrefix("Cpus_allowed_list:") {
                lists.insert(line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces))
            }
        }
        return lists
    }

    func stop() {
        kill(pid, SIGKILL)
        _ = child.finish(timeout: .seconds(10))
    }
}
