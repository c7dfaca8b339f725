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
@Suite(.serialized, .needsMountNamespace) struct GearboxdEndToEndTests {
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

    /// Whether every domain of `plan.json` runs the userspace governor at one of its two planned speeds.
    static func treeFollows(plan: [String: Any], tree: [String: String]) -> Bool {
        guard let domains = plan["domains"] as? [[String: Any]], !domains.isEmpty else { return false }
        return domains.allSatisfy { domain in
            guard let name = domain["name"] as? String, let low = domain["low_khz"] as? Int,
                  let high = domain["high_khz"] as? Int else { return false }
            let speed = tree["cpufreq/\(name)/scaling_setspeed"]?.trimmingCharacters(in: .whitespacesAndNewlines)
            return tree["cpufreq/\(name)/scaling_governor"] == "userspace\n" && (speed == String(low) || speed == String(high))
        }
    }

    static func readJSON(_ path: String) -> [String: Any] {
        let data = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: JournalTestDaemon.binary),
                   "no /lib/systemd/systemd-journald to log to (apt-get install systemd)"))
    func appliesPlanLogsToJournaldNotifiesAndRestoresOnSIGTERM() throws {
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
                // Until the published plan is on sysfs: every domain at one of its two speeds.
                let applied = waitUntil(timeout: .seconds(120)) {
                    planJSON = Self.readJSON(planPath)
                    duringRun = (try? tree.contents()) ?? [:]
                    return Self.treeFollows(plan: planJSON, tree: duringRun)
                }
                #expect(applied, "the plan never reached the fixture tree")
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

@Suite(.serialized, .needsMountNamespace) struct GearboxdModesTests {
    @Test func dryRunOnceAsAnOrdinaryUserChangesNothingAndExitsZero() throws {
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

    /// Whether a connection to the Unix socket `path` is accepted now.
    static func accepts(_ path: String) -> Bool {
        let client = connectStream(to: path)
        if client >= 0 { close(client) }
        return client >= 0
    }

    @Test func sighupWithABrokenConfigKeepsTheOldOneAndRunning() throws {
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
        let standardError = NamespaceRunner.LiveOutput()
        let result = try NamespaceRunner.run(
            "gearboxd", ["--config", configPath, "--log-to", "stderr"], cpuTree: tree.cpuRoot,
            environment: ["LD_PRELOAD": preload], liveStandardError: standardError
        ) { process, _ in
            let planPath = state + "/plan.json"
            // SIGHUP is trapped once the agent serves its control socket (the plan file comes
            // earlier, while a SIGHUP would still end the process).
            let serving = waitUntil(timeout: .seconds(120)) { Self.accepts(state + "/control.sock") }
            try #require(serving, "the control socket never accepted: \(standardError.text)")
            try "[agent]\nmax_utilization = 7\n".write(toFile: configPath, atomically: true, encoding: .utf8)
            kill(process.processIdentifier, SIGHUP)
            // Once the refusal is logged the reload is over: the agent must still be there.
            try #require(standardError.waitFor("configuration refused"), "\(standardError.text)")
            aliveAfterBadReload = process.isRunning
            // A good reload with a looser target takes effect.
            try good.replacingOccurrences(of: "mean_ms = 10", with: "mean_ms = 40").write(toFile: configPath, atomically: true, encoding: .utf8)
            kill(process.processIdentifier, SIGHUP)
            _ = waitUntil(timeout: .seconds(120)) {
                (try? String(contentsOfFile: planPath, encoding: .utf8))?.contains("\"target_ms\": 40") == true
            }
            planAfterGoodReload = try? String(contentsOfFile: planPath, encoding: .utf8)
            kill(process.processIdentifier, SIGTERM)
        }
        #expect(aliveAfterBadReload)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("configuration refused, keeping the old one") && result.stderr.contains("agent.max_utilization"),
                "\(result.stderr)")
        #expect(planAfterGoodReload?.contains("\"target_ms\": 40") == true, "\(planAfterGoodReload ?? "no plan")\n\(result.stderr)")
        #expect(try tree.contents() == before)
    }
}

@Suite(.serialized, .needsMountNamespace) struct GearboxdControlSocketTests {
    static func policy5Stores(_ writeLog: String) -> [SysfsWrite] {
        SysfsWrite.read(URL(fileURLWithPath: writeLog)).filter { $0.path == "cpu5/cpufreq/scaling_setspeed" }
    }

    /// The first store of 2601000 and the first store of 1200000 after it.
    static func pinAndRelease(_ writeLog: String) -> (pin: SysfsWrite, release: SysfsWrite)? {
        let stores = policy5Stores(writeLog)
        guard let pin = stores.firstIndex(where: { $0.value == "2601000" }),
              let release = stores[pin...].first(where: { $0.value == "1200000" }) else { return nil }
        return (stores[pin], release)
    }

    static func answers(ctl: String, socket: String) -> Bool {
        (try? Child.run(ctl, ["status", "--socket", socket], timeout: .seconds(60)))?.status == 0
    }

    /// CLOCK_MONOTONIC, as the write log keeps time.
    static func monotonicNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// Package-0's energy counter in the metrics file.
    static func packageJoules(_ prometheusFile: String) -> Double? {
        let metrics = (try? String(contentsOfFile: prometheusFile, encoding: .utf8)) ?? ""
        let line = metrics.split(separator: "\n").first {
            $0.hasPrefix("gearbox_rapl_energy_joules_total{") && $0.contains("zone=\"intel-rapl:0\"")
        }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// gearboxctl against the running agent: status for anyone, an override from root that
    /// takes effect on sysfs and expires by itself after 2 s, and a refusal for nobody.
    @Test func statusOverrideExpiryAndPermission() throws {
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
        // Every store the agent makes, with its time: the override's effect and its expiry are
        // read from here, however late the test gets to look.
        let writeLog = directory.file("writes.log")
        let prometheusFile = state + "/gearbox.prom"
        var joulesSeen: Double?
        // CLOCK_MONOTONIC, as the write log keeps time.
        var overrideSent: Int64 = 0
        let standardError = NamespaceRunner.LiveOutput()
        let result = try NamespaceRunner.run(
            "gearboxd", ["--config", configPath, "--log-to", "stderr"], cpuTree: tree.cpuRoot, classTree: classTree,
            environment: ["LD_PRELOAD": preload, "GEARBOX_SYSFS_WRITE_LOG": writeLog], liveStandardError: standardError
        ) { process, _ in
            // Serving once gearboxctl status gets an answer.
            let serving = waitUntil(timeout: .seconds(120)) { Self.answers(ctl: ctl, socket: socket) }
            try #require(serving, "the control socket never answered: \(standardError.text)")
            // After the first metrics write, which takes the counters' starting point.
            let metricsWritten = waitUntil(timeout: .seconds(60)) { Self.packageJoules(prometheusFile) != nil }
            try #require(metricsWritten, "no metrics: \(standardError.text)")
            try? "\(startEnergy + 5_000_000)\n".write(toFile: packageCounter, atomically: false, encoding: .utf8)
            status = try? Child.run(ctl, ["status", "--socket", socket, "--json"], timeout: .seconds(60))
            refused = try? Child.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                          ctl, "override", "--socket", socket, "--host", "--mode", "performance", "--duration", "2s"],
                                     timeout: .seconds(60))
            overrideSent = Self.monotonicNanoseconds()
            override = try? Child.run(ctl, ["override", "--socket", socket, "--domain", "policy5", "--mode", "performance", "--duration", "2s", "--json"],
                                      timeout: .seconds(60))
            unknownQueue = try? Child.run(ctl, ["override", "--socket", socket, "--queue", "cpu0", "--p99-ms", "20", "--duration", "2s"],
                                          timeout: .seconds(60))
            // Until the pin has been stored and released again and the expiry logged.
            _ = waitUntil(timeout: .seconds(120)) { Self.pinAndRelease(writeLog) != nil }
            _ = standardError.waitFor("override 1 expired", timeout: .seconds(120))
            // The 5 J are counted at the next metrics write.
            _ = waitUntil(timeout: .seconds(60)) { (Self.packageJoules(prometheusFile) ?? 0) > 0 }
            joulesSeen = Self.packageJoules(prometheusFile)
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
        // The override pinned policy5 at its top speed and, 2 s later, gave it back to the plan
        // (its lowest speed: no queue uses CPU 5), not before 2 s had passed.
        let stores = try #require(Self.pinAndRelease(writeLog), "stores on policy5: \(Self.policy5Stores(writeLog).map(\.value))")
        #expect(stores.pin.nanoseconds > overrideSent)
        let heldSeconds = Double(stores.release.nanoseconds - overrideSent) / 1e9
        #expect(heldSeconds >= 2, "released \(heldSeconds) s after a 2 s override was sent")
        #expect(result.stderr.contains("override 1 expired"))
        let joules = try #require(joulesSeen, "no package-0 energy in the metrics file")
        #expect(abs(joules - 5) < 1e-6, "package-0 energy \(joules) J")
    }
}

@Suite(.serialized, .needsMountNamespace) struct GearboxdLiveQueueTests {
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

    /// Waits for `count` more ticks: the agent replaces the metrics file (a new inode) at each.
    static func waitForTicks(_ count: Int, metricsFile: String) -> Bool {
        var replacements = 0
        var last = inode(metricsFile)
        return waitUntil(timeout: .seconds(120)) {
            let now = inode(metricsFile)
            if now != nil && now != last { replacements += 1 }
            last = now ?? last
            return replacements >= count
        }
    }

    static func inode(_ path: String) -> UInt64? {
        var status = stat()
        return stat(path, &status) == 0 ? UInt64(status.st_ino) : nil
    }

    @Test func frequenciesFollowTheEndpointAndAStaleSourceFallsBack() throws {
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
            [metrics]
            textfile = "\(state)/gearbox.prom"
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
        /// The agent's estimate of api's arrival rate, from the metrics file.
        func estimatedRate() -> Double? {
            let metrics = (try? String(contentsOfFile: state + "/gearbox.prom", encoding: .utf8)) ?? ""
            let line = metrics.split(separator: "\n").first {
                $0.hasPrefix("gearbox_queue_arrival_rate_per_second{") && $0.contains("queue=\"api\"")
            }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        var low = 0, high = 0, lowAgain = 0
        var fellBack = false
        let result = try NamespaceRunner.run(
            "gearboxd", ["--config", configPath, "--log-to", "stderr"], cpuTree: tree.cpuRoot,
            environment: ["LD_PRELOAD": preload]
        ) { process, _ in
            let planned = waitUntil(timeout: .seconds(120)) { planHasQueue("api") }
            try #require(planned, "api never planned")
            // Until the estimate has settled near the endpoint's 100/s (a scrape delayed on a
            // loaded machine counts a few requests early or late: ±40 %, far from 1700).
            let settled = waitUntil(timeout: .seconds(120)) {
                guard let rate = estimatedRate() else { return false }
                return abs(rate - 100) < 40
            }
            #expect(settled, "estimate \(String(describing: estimatedRate())), endpoint 100/s")
            low = topFrequency()
            try "1700".write(toFile: rateFile, atomically: true, encoding: .utf8)
            _ = waitUntil(timeout: .seconds(120)) { topFrequency() > low }
            high = topFrequency()
            try "100".write(toFile: rateFile, atomically: true, encoding: .utf8)
            _ = waitUntil(timeout: .seconds(120)) { topFrequency() < high }
            lowAgain = topFrequency()
            server.stop()
            fellBack = waitUntil(timeout: .seconds(120)) { !planHasQueue("api") }
            // A few more ticks with the source still gone: its staleness is logged once, not per tick.
            let ticked = Self.waitForTicks(4, metricsFile: state + "/gearbox.prom")
            #expect(ticked, "the agent stopped ticking")
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
