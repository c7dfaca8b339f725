import Foundation
import GearboxTestSupport
import GearboxControl
import GearboxLinux
import Testing

/// gearboxd end to end with the real pieces (issue 5): the built agent in a private mount
/// namespace over a fixture sysfs tree, the real libcpufreq, a real systemd-journald, and a
/// notification socket standing in for systemd's. The fixture's plain files get sysfs write
/// semantics from the CSysfsEmulation code, preloaded into gearboxd (LD_PRELOAD); the agent
/// binary itself is the one that ships.
@Suite(.serialized) struct GearboxdEndToEndTests {
    /// Builds the sysfs write emulation as a preloadable library (it is linked into the probe
    /// for the Linux tests; gearboxd never links it).
    static func emulationLibrary(in directory: TemporaryDirectory) throws -> String {
        let source = FixtureTree.repositoryRoot.appendingPathComponent("Sources/CSysfsEmulation")
        let output = directory.file("libgearbox-sysfs-emulation.so")
        let compiler = ["/usr/bin/cc", "/usr/bin/gcc", "/opt/swift/usr/bin/clang"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        } ?? "cc"
        let result = try Child.run(compiler, [
            "-shared", "-fPIC", "-O1", "-I", source.appendingPathComponent("include").path,
            "-o", output, source.appendingPathComponent("sysfs_emulation.c").path, "-lpthread",
        ], timeout: .seconds(60))
        try #require(result.status == 0, "cannot build the sysfs emulation: \(result.standardError)")
        return output
    }

    static let config = """
        [agent]
        tick_ms = 200
        state_directory = "STATE"
        plan_file = "STATE/plan.json"
        [control]
        socket = "STATE/control.sock"
        group = ""
        [metrics]
        textfile = "STATE/gearbox.prom"
        [[queue]]
        name = "web"
        arrival_rate = 400
        mean_work_ms = 2
        latency = { mean_ms = 10 }
        cpus = "0-3"
        """

    @Test func appliesPlanLogsToJournaldNotifiesAndRestoresOnSIGTERM() throws {
        guard NamespaceRunner.available else { return }
        guard FileManager.default.isExecutableFile(atPath: JournalTestDaemon.binary) else {
            print("skipping: no \(JournalTestDaemon.binary)")
            return
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let preload = try Self.emulationLibrary(in: directory)
        let tree = try FixtureTree(fixture: "acpi-cpufreq-8cpu")
        defer { tree.remove() }
        let before = try tree.contents()
        let state = directory.file("state")
        let configPath = directory.file("gearbox.toml")
        try Self.config.replacingOccurrences(of: "STATE", with: state).write(toFile: configPath, atomically: true, encoding: .utf8)
        let notify = try SystemdNotifierTests.NotificationSocket(path: directory.file("notify"))

        var duringRun: [String: String] = [:]
        var planJSON: [String: Any] = [:]
        var agentPID: Int32 = 0
        let result = try JournalTestDaemon.withJournal {
            try NamespaceRunner.run(
                "gearboxd", ["--config", configPath, "--log-to", "journald"], cpuTree: tree.cpuRoot,
                environment: ["LD_PRELOAD": preload, "NOTIFY_SOCKET": notify.path], timeout: 60
            ) { process, _ in
                agentPID = process.processIdentifier
                let planPath = state + "/plan.json"
                #expect(waitUntil(timeout: .seconds(20)) { FileManager.default.fileExists(atPath: planPath) })
                // Let a few ticks and dither periods pass.
                usleep(1_000_000)
                duringRun = (try? tree.contents()) ?? [:]
                let data = (try? Data(contentsOf: URL(fileURLWithPath: planPath))) ?? Data()
                planJSON = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
                kill(process.processIdentifier, SIGTERM)
            }
        }
        #expect(result.status == 0, "gearboxd: \(result.stderr)")

        // While running: every domain on the userspace governor at one of its two planned speeds.
        let domains = try #require(planJSON["domains"] as? [[String: Any]])
        #expect(domains.count == 8)
        for domain in domains {
            let name = try #require(domain["name"] as? String)
            let low = try #require(domain["low_khz"] as? Int), high = try #require(domain["high_khz"] as? Int)
            #expect(duringRun["cpufreq/\(name)/scaling_governor"] == "userspace\n", "\(name)")
            let speed = duringRun["cpufreq/\(name)/scaling_setspeed"]?.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(speed == String(low) || speed == String(high), "\(name): setspeed \(speed ?? "nil"), plan \(low)/\(high)")
        }
        print("gearboxd wrote setspeed:", domains.compactMap { d in (d["name"] as? String).flatMap { duringRun["cpufreq/\($0)/scaling_setspeed"] } })
        let queues = try #require(planJSON["queues"] as? [[String: Any]])
        #expect(queues.first?["name"] as? String == "web")

        // After SIGTERM: every file back byte for byte.
        let after = try tree.contents()
        #expect(changedFiles(before, after).isEmpty, "not restored: \(changedFiles(before, after).keys.sorted())")

        // systemd saw READY=1 (with a STATUS line) before STOPPING=1.
        let messages = notify.receiveUntilStopping()
        let ready = messages.firstIndex { $0.contains("READY=1") }
        let stopping = messages.firstIndex { $0.contains("STOPPING=1") }
        #expect(ready != nil && stopping != nil && ready! < stopping!, "\(messages)")
        #expect(messages.contains { $0.contains("STATUS=service:") && $0.contains("W planned") })

        // The journal holds the plan change with GEARBOX_* fields.
        let records = try JournalTestDaemon.withJournal {
            try JournalTestDaemon.entries(field: "_PID", value: String(agentPID), count: 10)
        }
        let domainRecords = records.filter { $0["GEARBOX_EVENT"] == "plan_domain" }
        #expect(domainRecords.count == 8, "\(records.count) records")
        if let first = domainRecords.first {
            for field in ["GEARBOX_DOMAIN", "GEARBOX_CPUS", "GEARBOX_LOW_KHZ", "GEARBOX_HIGH_KHZ", "GEARBOX_P_HIGH", "PRIORITY", "CODE_FILE", "CODE_LINE"] {
                #expect(first[field] != nil, "journal record lacks \(field)")
            }
        }
        let queueRecord = records.first { $0["GEARBOX_EVENT"] == "plan_queue" }
        #expect(queueRecord?["GEARBOX_QUEUE"] == "web")
        #expect(queueRecord?["GEARBOX_TARGET_MS"].flatMap(Double.init) == 10)
        #expect(records.contains { $0["GEARBOX_EVENT"] == "plan" && $0["GEARBOX_WATTS"] != nil })
    }
}

@Suite(.serialized) struct GearboxdModesTests {
    @Test func dryRunOnceAsAnOrdinaryUserChangesNothingAndExitsZero() throws {
        guard NamespaceRunner.available else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tree = try FixtureTree(fixture: "acpi-cpufreq-8cpu")
        defer { tree.remove() }
        let before = try tree.contents()
        let configPath = directory.file("gearbox.toml")
        try GearboxdEndToEndTests.config.replacingOccurrences(of: "STATE", with: directory.file("state"))
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        let result = try NamespaceRunner.run(
            "gearboxd", ["--config", configPath, "--dry-run", "--once", "--log-to", "stderr"], cpuTree: tree.cpuRoot,
            launcher: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try tree.contents() == before)
        // It says what it would have written.
        #expect(result.stderr.contains("scaling_setspeed") || result.stderr.contains("would write"), "\(result.stderr)")
    }

    @Test func badConfigIsRefusedWithOneLineAndExitTwo() throws {
        guard NamespaceRunner.available else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tree = try FixtureTree(fixture: "acpi-cpufreq-8cpu")
        defer { tree.remove() }
        let configPath = directory.file("gearbox.toml")
        try "[agent]\ntick_ms = \"fast\"\n".write(toFile: configPath, atomically: true, encoding: .utf8)
        let result = try NamespaceRunner.run("gearboxd", ["--config", configPath, "--once", "--log-to", "stderr"], cpuTree: tree.cpuRoot)
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(configPath):2: agent.tick_ms: expected a number"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func sighupWithABrokenConfigKeepsTheOldOneAndRunning() throws {
        guard NamespaceRunner.available else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let preload = try GearboxdEndToEndTests.emulationLibrary(in: directory)
        let tree = try FixtureTree(fixture: "acpi-cpufreq-8cpu")
        defer { tree.remove() }
        let before = try tree.contents()
        let state = directory.file("state")
        let configPath = directory.file("gearbox.toml")
        let good = GearboxdEndToEndTests.config.replacingOccurrences(of: "STATE", with: state)
        try good.write(toFile: configPath, atomically: true, encoding: .utf8)
        var aliveAfterBadReload = false
        var planAfterGoodReload: String?
        let result = try NamespaceRunner.run(
            "gearboxd", ["--config", configPath, "--log-to", "stderr"], cpuTree: tree.cpuRoot,
            environment: ["LD_PRELOAD": preload]
        ) { process, _ in
            let planPath = state + "/plan.json"
            _ = waitUntil(timeout: .seconds(20)) { FileManager.default.fileExists(atPath: planPath) }
            try "[agent]\nmax_utilization = 7\n".write(toFile: configPath, atomically: true, encoding: .utf8)
            kill(process.processIdentifier, SIGHUP)
            usleep(600_000)
            aliveAfterBadReload = process.isRunning
            // A good reload with a looser target takes effect.
            try good.replacingOccurrences(of: "mean_ms = 10", with: "mean_ms = 40").write(toFile: configPath, atomically: true, encoding: .utf8)
            kill(process.processIdentifier, SIGHUP)
            _ = waitUntil(timeout: .seconds(5)) {
                (try? String(contentsOfFile: planPath, encoding: .utf8))?.contains("\"target_ms\": 40") == true
            }
            planAfterGoodReload = try? String(contentsOfFile: planPath, encoding: .utf8)
            kill(process.processIdentifier, SIGTERM)
        }
        #expect(aliveAfterBadReload)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("configuration refused, keeping the old one") && result.stderr.contains("agent.max_utilization"),
                "\(result.stderr)")
        #expect(planAfterGoodReload?.contains("\"target_ms\": 40") == true)
        #expect(try tree.contents() == before)
    }
}

@Suite(.serialized) struct GearboxdControlSocketTests {
    /// gearboxctl against the running agent: status for anyone, an override from root that
    /// takes effect on sysfs and expires by itself after 2 s, and a refusal for nobody.
    @Test func statusOverrideExpiryAndPermission() throws {
        guard NamespaceRunner.available else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let preload = try GearboxdEndToEndTests.emulationLibrary(in: directory)
        let tree = try FixtureTree(fixture: "acpi-cpufreq-8cpu")
        defer { tree.remove() }
        // RAPL counters on /sys/class/powercap: package-0 gains 5 J while the agent runs.
        let classTree = try tree.addSibling(fixture: "powercap-rapl", named: "class")
        let packageCounter = classTree.appendingPathComponent("powercap/intel-rapl:0/energy_uj").path
        let startEnergy = try UInt64(String(contentsOfFile: packageCounter, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines))!
        let state = directory.file("state")
        let configPath = directory.file("gearbox.toml")
        try GearboxdEndToEndTests.config.replacingOccurrences(of: "STATE", with: state)
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        let socket = state + "/control.sock"
        let ctl = NamespaceRunner.productsDirectory.appendingPathComponent("gearboxctl").path
        var status: ChildResult?
        var refused: ChildResult?
        var override: ChildResult?
        var unknownQueue: ChildResult?
        var pinned: String?
        var expired: String?
        let result = try NamespaceRunner.run(
            "gearboxd", ["--config", configPath, "--log-to", "stderr"], cpuTree: tree.cpuRoot, classTree: classTree,
            environment: ["LD_PRELOAD": preload]
        ) { process, _ in
            _ = waitUntil(timeout: .seconds(20)) { FileManager.default.fileExists(atPath: socket) }
            usleep(300_000)
            // After the first metrics write, which takes the counters' starting point.
            _ = waitUntil(timeout: .seconds(10)) { FileManager.default.fileExists(atPath: state + "/gearbox.prom") }
            try? "\(startEnergy + 5_000_000)\n".write(toFile: packageCounter, atomically: false, encoding: .utf8)
            status = try? Child.run(ctl, ["status", "--socket", socket, "--json"])
            refused = try? Child.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                          ctl, "override", "--socket", socket, "--host", "--mode", "performance", "--duration", "2s"])
            override = try? Child.run(ctl, ["override", "--socket", socket, "--domain", "policy5", "--mode", "performance", "--duration", "2s", "--json"])
            unknownQueue = try? Child.run(ctl, ["override", "--socket", socket, "--queue", "cpu0", "--p99-ms", "20", "--duration", "2s"])
            usleep(500_000)
            pinned = try? String(contentsOf: tree.cpuRoot.appendingPathComponent("cpufreq/policy5/scaling_setspeed"), encoding: .utf8)
            usleep(2_500_000)
            expired = try? String(contentsOf: tree.cpuRoot.appendingPathComponent("cpufreq/policy5/scaling_setspeed"), encoding: .utf8)
            kill(process.processIdentifier, SIGTERM)
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(status?.status == 0, "\(status?.standardError ?? "")")
        #expect(status?.standardOutput.contains("policy5") == true)
        #expect(refused?.status == 1)
        #expect(refused?.standardError.contains("permission denied") == true, "\(refused?.standardError ?? "")")
        #expect(override?.status == 0, "\(override?.standardError ?? "")")
        // The agent answers with the override as status shows it.
        let added = try JSONParser.parse(override?.standardOutput ?? "")["override"]
        #expect(added?["scope"]?["domain"]?.stringValue == "policy5" && added?["mode"]?.stringValue == "performance", "\(String(describing: added))")
        #expect(added?["expires_in_s"]?.doubleValue.map { $0 > 0 && $0 <= 2 } == true)
        // Queue overrides name configured queues: the kernel's per-CPU queues are not among them.
        #expect(unknownQueue?.status != 0)
        #expect(unknownQueue?.standardError.contains("no queue named \"cpu0\"; the queues are web") == true,
                "\(unknownQueue?.standardError ?? "")")
        #expect(pinned?.trimmingCharacters(in: .whitespacesAndNewlines) == "2601000")
        #expect(expired?.trimmingCharacters(in: .whitespacesAndNewlines) == "1200000")
        #expect(result.stderr.contains("override 1 expired"))
        let metrics = try String(contentsOfFile: state + "/gearbox.prom", encoding: .utf8)
        #expect(metrics.contains("gearbox_"), "\(metrics.prefix(400))")
        let energyLine = metrics.split(separator: "\n").first {
            $0.hasPrefix("gearbox_rapl_energy_joules_total{") && $0.contains("zone=\"intel-rapl:0\"")
        }
        let joules = energyLine.flatMap { Double($0.split(separator: " ").last ?? "") }
        #expect(joules.map { abs($0 - 5) < 1e-6 } == true, "\(energyLine ?? "no package-0 energy series")")
    }
}

@Suite(.serialized) struct GearboxdLiveQueueTests {
    /// A Prometheus endpoint on 127.0.0.1 whose request counter grows at the rate written in
    /// a control file.
    static let server = """
        import http.server, socketserver, sys, time, threading
        rate_file = sys.argv[1]
        state = {"count": 0.0, "last": time.monotonic()}
        lock = threading.Lock()
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with lock:
                    now = time.monotonic()
                    rate = float(open(rate_file).read().strip())
                    state["count"] += rate * (now - state["last"])
                    state["last"] = now
                    body = ("# TYPE req_total counter\\nreq_total{handler=\\"api\\"} %d\\n" % state["count"]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *a): pass
        s = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """

    @Test func frequenciesFollowTheEndpointAndAStaleSourceFallsBack() throws {
        guard NamespaceRunner.available else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let rateFile = directory.file("rate")
        try "100".write(toFile: rateFile, atomically: true, encoding: .utf8)
        let server = try LoopbackTestServer(script: Self.server, arguments: [rateFile])
        defer { server.stop() }
        let port = server.port

        let preload = try GearboxdEndToEndTests.emulationLibrary(in: directory)
        let tree = try FixtureTree(fixture: "acpi-cpufreq-8cpu")
        defer { tree.remove() }
        let state = directory.file("state")
        let configPath = directory.file("gearbox.toml")
        try """
            [agent]
            tick_ms = 250
            smoothing_half_life_s = 0.5
            state_directory = "\(state)"
            plan_file = "\(state)/plan.json"
            [control]
            socket = "\(state)/control.sock"
            group = ""
            [[queue]]
            name = "api"
            mean_work_ms = 2
            latency = { mean_ms = 10 }
            cpus = "0-3"
            source = { prometheus = "http://127.0.0.1:\(port)/metrics", arrivals = "req_total", labels = { handler = "api" } }
            """.write(toFile: configPath, atomically: true, encoding: .utf8)

        func topFrequency() -> Int {
            let data = (try? Data(contentsOf: URL(fileURLWithPath: state + "/plan.json"))) ?? Data()
            let plan = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            let domains = plan?["domains"] as? [[String: Any]] ?? []
            return domains.filter { ($0["cpus"] as? [Int])?.allSatisfy { $0 < 4 } == true }
                .compactMap { $0["high_khz"] as? Int }.max() ?? 0
        }
        func planHasQueue(_ name: String) -> Bool {
            (try? String(contentsOfFile: state + "/plan.json", encoding: .utf8))?.contains("\"name\": \"\(name)\"") == true
        }
        var low = 0, high = 0, lowAgain = 0
        var fellBack = false
        let result = try NamespaceRunner.run(
            "gearboxd", ["--config", configPath, "--log-to", "stderr"], cpuTree: tree.cpuRoot,
            environment: ["LD_PRELOAD": preload]
        ) { process, _ in
            _ = waitUntil(timeout: .seconds(20)) { planHasQueue("api") }
            usleep(1_500_000)
            low = topFrequency()
            try "1700".write(toFile: rateFile, atomically: true, encoding: .utf8)
            _ = waitUntil(timeout: .seconds(5)) { topFrequency() > low }
            high = topFrequency()
            try "100".write(toFile: rateFile, atomically: true, encoding: .utf8)
            _ = waitUntil(timeout: .seconds(8)) { topFrequency() < high }
            lowAgain = topFrequency()
            server.stop()
            fellBack = waitUntil(timeout: .seconds(5)) { !planHasQueue("api") }
            usleep(1_000_000)
            kill(process.processIdentifier, SIGTERM)
        }
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        #expect(low > 0 && high > low, "low \(low) high \(high)")
        #expect(lowAgain < high, "fell to \(lowAgain) from \(high)")
        #expect(fellBack, "the stale queue's CPUs did not fall back to kernel-only queues")
        let staleLines = result.stderr.split(separator: "\n").filter { $0.contains("queue api is stale") }
        #expect(staleLines.count == 1, "\(staleLines)")
    }
}
