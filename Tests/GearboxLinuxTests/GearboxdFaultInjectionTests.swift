import Foundation
import GearboxTestSupport
import GearboxControl
import Testing

/// The built gearboxd, writing for real (through the sysfs emulation) in a private mount
/// namespace over a fixture tree, while a fault is injected from outside. Every test checks
/// the same four promises: the agent keeps running (it still publishes and answers), it logs
/// the fault once (and once more when it clears), no CPU is ever left at a frequency that
/// neither a plan nor the saved original chose, and a stop puts every file back byte for byte.
@Suite("gearboxd under injected faults (mount namespace, real writes)", .serialized,
       .needsMountNamespace)
struct GearboxdFaultInjectionTests {
    @Test("scaling_setspeed read-only: logged once, the domain held at its original speed, writes resume when it is writable again")
    func readOnlySetspeed() throws {
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu")
        defer { agent.remove() }
        let setspeed = agent.file("cpufreq/policy3/scaling_setspeed")
        chmod(setspeed, 0o444)
        var heldAtOriginal = false
        let result = try agent.run { _ in
            #expect(agent.waitForLog { $0.contains("cpufreq write failed") && $0.contains("cpufreq.domain=policy3") })
            heldAtOriginal = agent.current("cpufreq/policy3/scaling_setspeed") == agent.original("cpufreq/policy3/scaling_setspeed")
            agent.checkEveryDomainIsPlannedOrOriginal()
            chmod(setspeed, 0o644)
            // Held domains are retried every 5 s.
            #expect(agent.waitForLog(timeout: .seconds(20)) { $0.contains("cpufreq writes to policy3 work again") })
            agent.checkEveryDomainIsPlannedOrOriginal()
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(heldAtOriginal)
        #expect(agent.logLines.filter { $0.contains("cpufreq write failed") && $0.contains("cpufreq.domain=policy3") }.count == 1)
        #expect(agent.logLines.filter { $0.contains("cpufreq writes to policy3 work again") }.count == 1)
        agent.expectRestored()
    }

    @Test("scaling_governor refuses writes: nothing of that domain changes, the rest follow the plan")
    func governorRefused() throws {
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu")
        defer { agent.remove() }
        let result = try agent.run(environment: ["GEARBOX_SYSFS_FAIL": "cpu5/cpufreq/scaling_governor=EBUSY"]) { _ in
            #expect(agent.waitForLog { $0.contains("cpufreq write failed") && $0.contains("cpufreq.domain=policy5") })
            // 30 ticks of 200 ms span at least one 5 s retry of the held domain: still one line.
            #expect(agent.waitForTicks(30))
            agent.checkEveryDomainIsPlannedOrOriginal()
            #expect(agent.current("cpufreq/policy5/scaling_governor") == agent.original("cpufreq/policy5/scaling_governor"))
            #expect(agent.current("cpufreq/policy0/scaling_governor") == "userspace\n")
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(agent.logLines.filter { $0.contains("cpufreq write failed") && $0.contains("cpufreq.domain=policy5") }.count == 1)
        agent.expectRestored()
    }

    @Test("another tool sets a userspace domain's governor behind the agent's back: read back, logged, the userspace governor written again")
    func governorChangedBehindTheAgentsBack() throws {
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu")
        defer { agent.remove() }
        let governor = agent.file("cpufreq/policy4/scaling_governor")
        let result = try agent.run { _ in
            #expect(agent.waitForTicks(2))
            try #require(agent.current("cpufreq/policy4/scaling_governor") == "userspace\n")
            // What `cpupower frequency-set -g ondemand` would do.
            try "ondemand\n".write(toFile: governor, atomically: false, encoding: .utf8)
            #expect(agent.waitForLog { $0.contains("changed behind the agent's back") && $0.contains("policy4") })
            #expect(agent.waitForTicks(2))
            #expect(agent.current("cpufreq/policy4/scaling_governor") == "userspace\n")
            agent.checkEveryDomainIsPlannedOrOriginal()
        }
        #expect(result.status == 0, "\(result.stderr)")
        agent.expectRestored()
    }

    @Test("a policy removed mid-run and put back: logged once, followed again, restored on stop")
    func policyRemovedAndBack() throws {
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu")
        defer { agent.remove() }
        let policy = agent.tree.cpuRoot.appendingPathComponent("cpufreq/policy2").path
        let aside = agent.directory.file("policy2-aside")
        let result = try agent.run { _ in
            #expect(agent.waitForPlan())
            #expect(agent.current("cpufreq/policy2/scaling_governor") == "userspace\n")
            // A re-plan is forced by an override, so that the agent writes to the missing policy.
            #expect(rename(policy, aside) == 0)
            _ = agent.control(["override", "--domain", "policy2", "--mode", "performance", "--duration", "1h"])
            #expect(agent.waitForLog { $0.contains("cpufreq write failed") && $0.contains("cpufreq.domain=policy2") })
            #expect(rename(aside, policy) == 0)
            #expect(agent.waitForLog(timeout: .seconds(20)) { $0.contains("cpufreq writes to policy2 work again") })
            #expect(agent.waitForCondition { agent.current("cpufreq/policy2/scaling_setspeed")?.hasPrefix("2601000") == true })
            agent.checkEveryDomainIsPlannedOrOriginal(pinned: ["policy2": "2601000"])
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(agent.logLines.filter { $0.contains("cpufreq write failed") && $0.contains("cpufreq.domain=policy2") }.count == 1)
        agent.expectRestored()
    }

    @Test("a CPU goes offline and its policy with it, then comes back: logged once, restored on stop")
    func cpuOfflineAndBack() throws {
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu")
        defer { agent.remove() }
        let online = agent.file("cpu6/online")
        let link = agent.file("cpu6/cpufreq")
        let result = try agent.run { _ in
            #expect(agent.waitForPlan())
            // What the kernel shows for an offline CPU of a one-CPU policy: online is 0 and
            // its cpufreq link is gone.
            try "0\n".write(toFile: online, atomically: false, encoding: .utf8)
            unlink(link)
            _ = agent.control(["override", "--domain", "policy6", "--mode", "performance", "--duration", "1h"])
            #expect(agent.waitForLog { $0.contains("cpufreq write failed") && $0.contains("cpufreq.domain=policy6") })
            try "1\n".write(toFile: online, atomically: false, encoding: .utf8)
            symlink("../cpufreq/policy6", link)
            #expect(agent.waitForLog(timeout: .seconds(20)) { $0.contains("cpufreq writes to policy6 work again") })
            agent.checkEveryDomainIsPlannedOrOriginal(pinned: ["policy6": "2601000"])
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(agent.logLines.filter { $0.contains("cpufreq write failed") && $0.contains("cpufreq.domain=policy6") }.count == 1)
        agent.expectRestored()
    }

    @Test("junk in scaling_cur_freq: the agent keeps governing and answering")
    func junkCurrentFrequency() throws {
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu")
        defer { agent.remove() }
        for policy in ["policy0", "policy1"] {
            try "junk\u{1}\n".write(toFile: agent.file("cpufreq/\(policy)/scaling_cur_freq"), atomically: false, encoding: .utf8)
            try "-99999999999999999999\n".write(toFile: agent.file("cpufreq/\(policy)/cpuinfo_cur_freq"), atomically: false, encoding: .utf8)
        }
        try agent.baseline()
        let result = try agent.run { _ in
            #expect(agent.waitForPlan())
            let status = agent.control(["status", "--json"])
            #expect(status.status == 0, "\(status.standardError)")
            // 1234.567 MHz lies between the 1.2 and 1.4 GHz operating points: the next one up runs,
            // and the answer says so.
            let pin = agent.control(["override", "--domain", "policy3", "--frequency-mhz", "1234.567", "--duration", "1h"])
            #expect(pin.standardOutput.contains("Runs policy3 at 1400 MHz."), "\(pin.standardOutput)\(pin.standardError)")
            #expect(agent.waitForCondition { agent.current("cpufreq/policy3/scaling_setspeed") == "1400000\n" })
            #expect(agent.waitForTicks(3))
            agent.checkEveryDomainIsPlannedOrOriginal(pinned: ["policy3": "1400000"])
        }
        #expect(result.status == 0, "\(result.stderr)")
        agent.expectRestored()
    }

    @Test("a Prometheus source that hangs and one that answers junk: both go stale once, the loop keeps its period")
    func hangingAndJunkSources() throws {
        let hang = try LoopbackSource(script: LoopbackSource.hanging)
        defer { hang.stop() }
        let junk = try LoopbackSource(script: LoopbackSource.junk)
        defer { junk.stop() }
        let queues = """
            [[queue]]
            name = "slow"
            source = { prometheus = "http://127.0.0.1:\(hang.port)/metrics", arrivals = "req_total" }
            mean_work_ms = 2
            latency = { mean_ms = 10 }
            cpus = "0-1"
            [[queue]]
            name = "junky"
            source = { prometheus = "http://127.0.0.1:\(junk.port)/metrics", arrivals = "req_total" }
            mean_work_ms = 2
            latency = { mean_ms = 10 }
            cpus = "2-3"
            """
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu", queues: queues)
        defer { agent.remove() }
        var secondsForTwentyTicks = Duration.zero
        let result = try agent.run { _ in
            #expect(agent.waitForLog(timeout: .seconds(20)) { $0.contains("queue slow is stale") })
            #expect(agent.waitForLog(timeout: .seconds(20)) { $0.contains("queue junky is stale") })
            // tick_ms = 200: 20 ticks take 4 s on time. Scraping waits at most half a tick for
            // the hanging source; were it to wait longer, each tick would be late.
            let start = ContinuousClock.now
            #expect(agent.waitForTicks(20))
            secondsForTwentyTicks = start.duration(to: .now)
            agent.checkEveryDomainIsPlannedOrOriginal()
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(secondsForTwentyTicks < .seconds(8), "20 ticks of 200 ms took \(secondsForTwentyTicks)")
        #expect(agent.logLines.filter { $0.contains("queue slow is stale") }.count == 1, "\(agent.logLines.suffix(30))")
        #expect(agent.logLines.filter { $0.contains("queue junky is stale") }.count == 1)
        agent.expectRestored()
    }

    @Test("the journal's socket disappears mid-run: records go to stderr, the agent keeps governing")
    func journalGone() throws {
        guard FileManager.default.isExecutableFile(atPath: JournalTestDaemon.binary) else {
            Issue.record("no \(JournalTestDaemon.binary): install systemd (scripts/install-deps does)")
            return
        }
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu")
        defer { agent.remove() }
        let trigger = agent.directory.file("hide-journal")
        // Inside the agent's namespace: once the trigger exists, an empty tmpfs hides
        // /run/systemd/journal, as if journald had gone with its sockets.
        let launcher = ["/bin/sh", "-c",
                        "(while [ ! -e \"\(trigger)\" ]; do sleep 0.05; done; mount -t tmpfs tmpfs /run/systemd/journal; touch \"\(trigger).done\") & exec \"$@\"",
                        "launcher"]
        let result = try JournalTestDaemon.withJournal {
            try agent.run(logTo: "journald", launcher: launcher) { _ in
                #expect(agent.waitForPlan())
                _ = FileManager.default.createFile(atPath: trigger, contents: nil)
                #expect(agent.waitForCondition { FileManager.default.fileExists(atPath: trigger + ".done") })
                // An override makes the agent log (its notice and a plan change).
                let override = agent.control(["override", "--domain", "policy1", "--mode", "powersave", "--duration", "1h"])
                #expect(override.status == 0, "\(override.standardError)")
                #expect(agent.waitForLog { $0.contains("override 1 added") })
                agent.checkEveryDomainIsPlannedOrOriginal(pinned: ["policy1": "1200000"])
            }
        }
        #expect(result.status == 0, "\(result.stderr)")
        agent.expectRestored()
    }

    @Test("the state filesystem fills up: metrics and plan writes fail, logged once each, no temporary file left, cleared when space returns")
    func fullStateFilesystem() throws {
        guard FileManager.default.isExecutableFile(atPath: "/bin/mount") else {
            Issue.record("no /bin/mount")
            return
        }
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu", smallStateFilesystem: true)
        defer { agent.remove() }
        let filler = agent.state + "/filler"
        let result = try agent.run { _ in
            #expect(agent.waitForPlan())
            #expect(agent.waitForTicks(2))
            _ = try? Child.run("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=4k"], timeout: .seconds(20))
            // A new plan has to be published: an override forces one.
            _ = agent.control(["override", "--domain", "policy4", "--mode", "performance", "--duration", "1h"])
            #expect(agent.waitForLog { $0.contains("could not write the metrics file") })
            #expect(agent.waitForLog { $0.contains("could not publish the plan") })
            let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: agent.state)) ?? []).filter { $0.hasSuffix(".tmp") }
            #expect(leftovers.isEmpty, "\(leftovers)")
            unlink(filler)
            #expect(agent.waitForLog { $0.contains("the metrics file is written again") })
            agent.checkEveryDomainIsPlannedOrOriginal(pinned: ["policy4": "2601000"])
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(agent.logLines.filter { $0.contains("could not write the metrics file") }.count == 1)
        #expect(agent.logLines.filter { $0.contains("could not publish the plan") }.count == 1)
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: agent.state)) ?? []).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        agent.expectRestored()
    }

    @Test("the control socket's file is deleted: bound again within seconds, logged once, answering")
    func controlSocketDeleted() throws {
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu")
        defer { agent.remove() }
        var answered: ChildResult?
        let result = try agent.run { _ in
            // Served, not just bound: the file appears at bind(), before the agent has looked
            // at which file it is (a removal in between is the agent's to notice as well, but
            // this test is about a socket it already serves).
            #expect(agent.waitForLog(timeout: .seconds(60)) { $0.contains("control socket ready at") })
            #expect(FileManager.default.fileExists(atPath: agent.socket))
            unlink(agent.socket)
            // The agent looks every 2 s; on a machine that other builds and tests load, its
            // process may get little CPU for many seconds, so the wait is generous.
            #expect(agent.waitForLog(timeout: .seconds(90)) { $0.contains("was removed; binding it again") })
            #expect(agent.waitForCondition(timeout: .seconds(60)) { FileManager.default.fileExists(atPath: agent.socket) })
            answered = agent.control(["status", "--json"])
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(answered?.status == 0, "\(answered?.standardError ?? "")")
        #expect(agent.logLines.filter { $0.contains("was removed; binding it again") }.count == 1)
        #expect(agent.logLines.filter { $0.contains("is served again") }.count == 1)
        agent.expectRestored()
    }

    @Test("a restore that fails at SIGTERM: exit 1 with one line, the state file kept; --restore later puts everything back")
    func failedRestoreExitsNonZero() throws {
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu")
        defer { agent.remove() }
        let governor = agent.file("cpufreq/policy1/scaling_governor")
        let result = try agent.run { _ in
            #expect(agent.waitForPlan())
            #expect(agent.waitForCondition { agent.current("cpufreq/policy1/scaling_governor") == "userspace\n" })
            chmod(governor, 0o444)
        }
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("could not restore the original cpufreq settings of policy1"), "\(result.stderr)")
        let stateText = (try? String(contentsOfFile: agent.state + "/cpufreq-state.json", encoding: .utf8)) ?? ""
        #expect(stateText.contains("\"clean\" : false"), "\(stateText)")
        chmod(governor, 0o644)
        let restore = try agent.restore()
        #expect(restore.status == 0, "\(restore.stderr)")
        agent.expectRestored()
    }

    @Test("after SIGKILL, --restore and a normal start restore from the state file although the config is now invalid",
          arguments: ["tick_ms = \"fast\"", "cpus = \"0-99\"", "nested 40,000 deep"])
    func restoreIgnoresAnInvalidConfig(breakage: String) throws {
        let agent = try AgentUnderFault(fixture: "acpi-cpufreq-8cpu")
        defer { agent.remove() }
        let result = try agent.run { process in
            #expect(agent.waitForPlan())
            #expect(agent.waitForCondition { agent.current("cpufreq/policy0/scaling_governor") == "userspace\n" })
            kill(process.processIdentifier, SIGKILL)
        }
        #expect(result.killedBySignal)
        #expect(agent.changed().isEmpty == false, "the agent wrote nothing before it was killed")
        // The config no longer validates; its state_directory is still readable.
        var config = try String(contentsOfFile: agent.configPath, encoding: .utf8)
        if breakage.hasPrefix("tick_ms") {
            config = config.replacingOccurrences(of: "tick_ms = 200", with: breakage)
        } else if breakage.hasPrefix("nested") {
            // Not TOML at all: the state directory is found by its line.
            config += "\n[metrics.deep]\nx = " + String(repeating: "[", count: 40_000) + "\n"
        } else {
            config = config.replacingOccurrences(of: "cpus = \"0-3\"", with: breakage)
        }
        try config.write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        let start = try agent.run(stopAfterwards: false) { _ in }
        #expect(start.status == 2, "a normal start refuses the config: \(start.stderr)")
        #expect(start.stderr.split(separator: "\n").last?.hasPrefix("gearboxd: ") == true, "\(start.stderr)")
        agent.expectRestored()
        let restore = try agent.restore()
        #expect(restore.status == 0, "\(restore.stderr)")
        agent.expectRestored()
    }
}

/// One gearboxd run against a copy of a fixture tree, with its own state directory, log file
/// and control socket, and the bookkeeping the fault tests check.
final class AgentUnderFault: @unchecked Sendable {
    let directory: TemporaryDirectory
    let tree: FixtureTree
    let preload: String
    let state: String
    let configPath: String
    let logPath: String
    let socket: String
    /// The tree as the agent must leave it (retaken by `baseline()` after a fault is injected
    /// before the start).
    private(set) var before: [String: String]
    private var mountedState = false
    /// Every frequency each domain was planned at (low and high), from each plan file read.
    private var planned: [String: Set<String>] = [:]

    init(fixture: String, queues: String? = nil, smallStateFilesystem: Bool = false) throws {
        directory = try TemporaryDirectory()
        preload = try GearboxdEndToEndTests.emulationLibrary(in: directory)
        tree = try FixtureTree(fixture: fixture)
        before = try tree.contents()
        state = directory.file("state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        if smallStateFilesystem {
            let mount = try Child.run("/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", state])
            try #require(mount.status == 0, "cannot mount a small tmpfs: \(mount.standardError)")
            mountedState = true
        }
        configPath = directory.file("gearbox.toml")
        logPath = directory.file("gearboxd.log")
        socket = state + "/control.sock"
        let queueText = queues ?? """
            [[queue]]
            name = "web"
            arrival_rate = 400
            mean_work_ms = 2
            latency = { mean_ms = 10 }
            cpus = "0-3"
            """
        let config = """
            [agent]
            tick_ms = 200
            state_directory = "\(state)"
            plan_file = "\(state)/plan.json"
            [control]
            socket = "\(socket)"
            group = ""
            [metrics]
            textfile = "\(state)/gearbox.prom"
            \(queueText)
            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Takes the tree as it is now as what a stop must leave.
    func baseline() throws { before = try tree.contents() }

    func remove() {
        if mountedState { _ = try? Child.run("/bin/umount", ["-l", state]) }
        tree.remove()
        directory.remove()
    }

    /// A path inside the fixture tree (relative to /sys/devices/system/cpu).
    func file(_ relative: String) -> String { tree.cpuRoot.appendingPathComponent(relative).path }
    func current(_ relative: String) -> String? { try? String(contentsOfFile: file(relative), encoding: .utf8) }
    func original(_ relative: String) -> String? { before[relative] }

    /// Runs gearboxd (stderr into `logPath`, so the test can read it while the agent runs);
    /// `body` acts on the running agent, then the agent gets SIGTERM unless it has exited.
    func run(
        logTo: String = "stderr", environment: [String: String] = [:], launcher: [String] = [],
        stopAfterwards: Bool = true, _ body: (Process) throws -> Void
    ) throws -> NamespaceRunner.Result {
        let redirect = ["/bin/sh", "-c", "exec \"$@\" 2>>\"\(logPath)\"", "redirect"]
        var env = ["LD_PRELOAD": preload]
        env.merge(environment) { $1 }
        let result = try withoutActuallyEscaping(body) { body in
            try NamespaceRunner.run(
                "gearboxd", ["--config", configPath, "--log-to", logTo], cpuTree: tree.cpuRoot,
                environment: env, timeout: 120, launcher: launcher + redirect
            ) { process, _ in
                try body(process)
                if stopAfterwards && process.isRunning { kill(process.processIdentifier, SIGTERM) }
            }
        }
        return result.withStderr(appending: (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
    }

    /// `gearboxd --restore` with the test's config.
    func restore() throws -> NamespaceRunner.Result {
        try NamespaceRunner.run("gearboxd", ["--restore", "--config", configPath, "--log-to", "stderr"],
                                cpuTree: tree.cpuRoot, environment: ["LD_PRELOAD": preload])
    }

    /// gearboxctl against the agent's socket.
    @discardableResult
    func control(_ arguments: [String]) -> ChildResult {
        let ctl = NamespaceRunner.productsDirectory.appendingPathComponent("gearboxctl").path
        let (command, rest) = (arguments[0], Array(arguments.dropFirst()))
        return (try? Child.run(ctl, [command, "--socket", socket] + rest, timeout: .seconds(30)))
            ?? ChildResult(status: -1, standardOutput: "", standardError: "gearboxctl did not run", timedOut: false)
    }

    var logLines: [String] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func waitForLog(timeout: Duration = .seconds(15), _ matches: (String) -> Bool) -> Bool {
        waitUntil(timeout: timeout) { logLines.contains(where: matches) }
    }

    func waitForCondition(timeout: Duration = .seconds(15), _ condition: () -> Bool) -> Bool {
        waitUntil(timeout: timeout, condition)
    }

    func waitForPlan() -> Bool {
        waitUntil(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: state + "/plan.json") }
    }

    /// Metrics file writes seen so far (its inode changes with every atomic write).
    var metricsWrites: Int {
        metricsCounter.sample(path: state + "/gearbox.prom")
    }
    private let metricsCounter = InodeCounter()

    /// Waits until the metrics file has been rewritten `count` more times.
    func waitForTicks(_ count: Int) -> Bool {
        let start = metricsWrites
        return waitUntil(timeout: .seconds(30)) { metricsWrites - start >= count }
    }

    /// Every domain's frequency right now is one its plans chose (low or high), the one it
    /// was pinned to, or the original. The agent writes a new plan's frequencies before it
    /// publishes the plan file, so a frequency not yet explained is looked at again, with the
    /// plan file re-read, for up to 10 s before it counts as wrong.
    func checkEveryDomainIsPlannedOrOriginal(pinned: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) {
        var wrong: [String] = []
        _ = waitUntil(timeout: .seconds(10)) {
            recordPlan()
            wrong = unexplainedFrequencies(pinned: pinned)
            return wrong.isEmpty
        }
        #expect(wrong.isEmpty, "\(wrong)", sourceLocation: sourceLocation)
    }

    /// "policyN runs F; plans and original allow [...]" for each domain whose setspeed no plan
    /// seen so far, pin or original explains.
    private func unexplainedFrequencies(pinned: [String: String]) -> [String] {
        var wrong: [String] = []
        for key in before.keys.sorted() where key.hasSuffix("/scaling_setspeed") {
            let domain = key.split(separator: "/").dropFirst().first.map(String.init) ?? key
            guard let now = current(key)?.trimmingCharacters(in: .whitespacesAndNewlines) else { continue }
            var allowed = planned[domain] ?? []
            if let pin = pinned[domain] { allowed.insert(pin) }
            if let original = before[key]?.trimmingCharacters(in: .whitespacesAndNewlines) { allowed.insert(original) }
            if !allowed.contains(now) { wrong.append("\(domain) runs \(now); plans and original allow \(allowed.sorted())") }
        }
        return wrong
    }

    private func recordPlan() {
        guard let data = FileManager.default.contents(atPath: state + "/plan.json"),
              let plan = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let domains = plan["domains"] as? [[String: Any]] else { return }
        for domain in domains {
            guard let name = domain["name"] as? String else { continue }
            for key in ["low_khz", "high_khz"] {
                if let khz = domain[key] as? Int { planned[name, default: []].insert(String(khz)) }
            }
        }
    }

    /// Files of the tree that differ from before the run.
    func changed() -> [String: (String?, String?)] {
        changedFiles(before, (try? tree.contents()) ?? [:])
    }

    func expectRestored(sourceLocation: SourceLocation = #_sourceLocation) {
        let differing = changed().keys.sorted()
        #expect(differing.isEmpty, "not restored: \(differing)", sourceLocation: sourceLocation)
    }
}

/// Counts how often a file was replaced, by sampling its inode (each atomic write renames a
/// new file over it).
final class InodeCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var lastInode: UInt64?
    private var count = 0

    func sample(path: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        var status = stat()
        if stat(path, &status) == 0, UInt64(status.st_ino) != lastInode {
            if lastInode != nil { count += 1 }
            lastInode = UInt64(status.st_ino)
        }
        return count
    }
}

extension NamespaceRunner.Result {
    func withStderr(appending text: String) -> NamespaceRunner.Result {
        var copy = self
        copy.stderr += text
        return copy
    }
}

/// A Python HTTP server on 127.0.0.1 standing in for a broken Prometheus endpoint.
final class LoopbackSource {
    static let hanging = """
        import socket, sys, time
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
        print(s.getsockname()[1], flush=True)
        held = []
        while True:
            c, _ = s.accept(); held.append(c)   # accepts, reads nothing, never answers
        """
    static let junk = """
        import http.server, socketserver
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200); self.end_headers()
                self.wfile.write(b"req_total{{{ not prometheus \\xff\\xfe 1e999999 NaN\\n" * 50)
            def log_message(self, *a): pass
        s = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """

    let process = Process()
    let port: Int

    init(script: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line += byte
        }
        port = Int(String(decoding: line, as: UTF8.self)) ?? 0
    }

    /// SIGKILL: the test process may have SIGTERM blocked, and its children inherit the mask.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
