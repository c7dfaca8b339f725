import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// `gearboxctl simulate` and `compare`, run as a user would.
@Suite struct SimulateCLITests {
    static func simulate(_ extra: [String], platform: String = "server-8cpu", load: String = "medium") throws -> BuiltTool.Result {
        try BuiltTool.run("gearboxctl", [
            "simulate", "--platform", BuiltTool.example("\(platform).toml"),
            "--workload", BuiltTool.example("\(platform)-\(load).toml"),
        ] + extra)
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// docs/formats.md's fields, consistent with each other and with the exit status. (The
    /// small phone example: gearbox re-plans every few ticks, and the planner is slow in
    /// debug builds on the 8-CPU server.)
    @Test(arguments: ["gearbox", "performance", "schedutil"])
    func jsonHasTheProductFields(policy: String) throws {
        let r = try Self.simulate(["--policy", policy, "--duration", "20", "--warm-up", "2", "--json"],
                                  platform: "phone-rk3399", load: "low")
        let o = try Self.object(r.stdout)
        #expect(o["policy"] as? String == policy)
        #expect(o["duration_s"] as? Double == 20)
        let energy = try #require(o["energy_joules"] as? Double)
        let watts = try #require(o["power_watts"] as? Double)
        #expect(abs(energy / 20 - watts) < 1e-9 * watts)
        let queues = try #require(o["queues"] as? [[String: Any]])
        #expect(queues.map { $0["name"] as? String } == ["ui", "background"])
        var allMet = true
        for q in queues {
            let mean = try #require(q["mean_ms"] as? Double), p95 = try #require(q["p95_ms"] as? Double)
            let p99 = try #require(q["p99_ms"] as? Double), target = try #require(q["target_ms"] as? Double)
            let kind = try #require(q["kind"] as? String), met = try #require(q["met"] as? Bool)
            let ci = try #require(q["ci95_ms"] as? Double), undecided = try #require(q["undecided"] as? Bool)
            #expect((q["completed"] as? Int ?? 0) > 300)
            #expect(0 < mean && mean < p99 && p95 <= p99)
            let measured = ["mean": mean, "p95": p95, "p99": p99][kind]!
            #expect(met == (measured <= target))
            #expect(ci > 0 && undecided == (abs(measured - target) <= ci))
            allMet = allMet && met
        }
        #expect(r.status == (allMet ? 0 : 1), "\(r.stderr)")
    }

    @Test func outputIsDeterministicPerSeed() throws {
        let args = ["--policy", "ondemand", "--duration", "3", "--warm-up", "1", "--baseline-split", "capacity", "--json"]
        let a = try Self.simulate(args), b = try Self.simulate(args)
        let c = try Self.simulate(args + ["--seed", "99"])
        #expect(!a.stdout.isEmpty && a.stdout == b.stdout)
        #expect(a.stdout != c.stdout)
    }

    /// A target missed is still reported, with exit status 1.
    @Test func missedTargetExitsOne() throws {
        let r = try Self.simulate(["--policy", "powersave", "--duration", "3", "--warm-up", "1",
                                   "--baseline-split", "capacity", "--json"], load: "high")
        #expect(r.status == 1)
        let queues = try #require(try Self.object(r.stdout)["queues"] as? [[String: Any]])
        #expect(queues.contains { $0["met"] as? Bool == false })
    }

    @Test func badInputExitsTwoWithOneLineNamingTheProblem() throws {
        let policy = try Self.simulate(["--policy", "turbo"])
        #expect(policy.status == 2)
        #expect(policy.stderr.contains("--policy") && policy.stderr.split(separator: "\n").count == 1)
        let realisation = try Self.simulate(["--realisation", "sometimes"])
        #expect(realisation.status == 2 && realisation.stderr.contains("--realisation"))
        let missing = try BuiltTool.run("gearboxctl", [
            "simulate", "--platform", "/nonexistent/host.toml", "--workload", BuiltTool.example("server-8cpu-low.toml"),
        ])
        #expect(missing.status == 2 && missing.stderr.contains("/nonexistent/host.toml"))

        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("gearbox-bad-trace-\(getpid()).csv")
        try "time_s,work_ms,queue\n0.1,2,web\n0.2,oops,web\n".write(to: trace, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: trace) }
        let badTrace = try Self.simulate(["--trace", trace.path])
        #expect(badTrace.status == 2)
        #expect(badTrace.stderr.contains("\(trace.path):3: work_ms"), "\(badTrace.stderr)")
    }

    /// A recorded trace replaces Poisson arrivals: a request every 10 ms with 2 ms of work
    /// on an otherwise idle 8-CPU server at top speed takes exactly 2 ms.
    @Test func replaysATrace() throws {
        let directory = FileManager.default.temporaryDirectory
        let rows = (0..<1000).map { "\(Double($0) * 0.01),2,web" }.joined(separator: "\n")
        let trace = directory.appendingPathComponent("gearbox-trace-\(getpid()).csv")
        let workload = directory.appendingPathComponent("gearbox-trace-workload-\(getpid()).toml")
        try ("time_s,work_ms,queue\n" + rows + "\n").write(to: trace, atomically: true, encoding: .utf8)
        try """
            [[queue]]
            name = "web"
            arrival_rate = 100
            mean_work_ms = 2
            latency = { mean_ms = 5 }
            """.write(to: workload, atomically: true, encoding: .utf8)
        defer {
            try? FileManager.default.removeItem(at: trace)
            try? FileManager.default.removeItem(at: workload)
        }
        let r = try BuiltTool.run("gearboxctl", [
            "simulate", "--platform", BuiltTool.example("server-8cpu.toml"), "--workload", workload.path,
            "--policy", "performance", "--trace", trace.path, "--duration", "5", "--warm-up", "1",
            "--baseline-split", "capacity", "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let queues = try #require(try Self.object(r.stdout)["queues"] as? [[String: Any]])
        let web = try #require(queues.first)
        #expect(web["completed"] as? Int == 500)
        #expect(abs((web["mean_ms"] as? Double ?? 0) - 2) < 1e-6)
    }

    /// Runs longer than about two seconds show progress on stderr, never on stdout.
    /// (`--progress-after 0` stands in for a run long enough to pass the 2 s of wall time
    /// that normally show it, so that the test does not depend on the machine's speed.)
    @Test func longRunsShowProgressOnStderrOnly() throws {
        let r = try Self.simulate(["--policy", "performance", "--duration", "100", "--warm-up", "0",
                                   "--baseline-split", "capacity", "--progress-after", "0", "--json"])
        #expect(r.stderr.contains("%"), "no progress shown: \(r.stderr)")
        _ = try Self.object(r.stdout)
    }

    @Test func compareTabulatesEveryPolicyAndDrawsTheChart() throws {
        let svg = FileManager.default.temporaryDirectory.appendingPathComponent("gearbox-compare-\(getpid()).svg")
        defer { try? FileManager.default.removeItem(at: svg) }
        let r = try BuiltTool.run("gearboxctl", [
            "compare", "--platform", BuiltTool.example("phone-rk3399.toml"),
            "--workload", BuiltTool.example("phone-rk3399-medium.toml"),
            "--duration", "5", "--warm-up", "2", "--svg", svg.path,
        ])
        let policies = ["gearbox time-share", "gearbox per-request", "oracle", "performance", "powersave",
                        "ondemand", "conservative", "schedutil"]
        for p in policies { #expect(r.stdout.contains("\n" + p), "table lacks \(p)") }
        #expect(r.stdout.contains("vs gearbox") && r.stdout.contains("ui (p99"))
        let gearboxRow = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("gearbox time-share") })
        #expect(r.status == (gearboxRow.contains("MISSED") ? 1 : 0))
        let data = try Data(contentsOf: svg)
        #expect(XMLParser(data: data).parse(), "the chart is not well-formed XML")
        let text = String(decoding: data, as: UTF8.self)
        for p in policies { #expect(text.contains(p)) }
    }

    @Test func compareJSONListsOneObjectPerRun() throws {
        let r = try BuiltTool.run("gearboxctl", [
            "compare", "--platform", BuiltTool.example("phone-rk3399.toml"),
            "--workload", BuiltTool.example("phone-rk3399-low.toml"), "--duration", "4", "--warm-up", "1", "--json",
        ])
        let runs = try #require(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(runs.map { $0["policy"] as? String ?? "" } == [
            "gearbox", "gearbox", "oracle", "performance", "powersave", "ondemand", "conservative", "schedutil",
        ])
        #expect(runs.map { $0["realisation"] as? String ?? "" }.prefix(2) == ["time-share", "per-request"])
        let arrived = runs.map { (($0["queues"] as? [[String: Any]]) ?? []).map { $0["arrived"] as? Int ?? -1 } }
        #expect(Set(arrived.map { $0.description }).count == 1, "policies saw different arrivals")
    }
}
