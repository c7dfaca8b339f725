import Foundation
import GearboxTestSupport
import Testing

// Serialized: each case blocks a thread of the shared pool for seconds while gearboxctl runs;
// in parallel they starved the async tests (control socket) on a 2-core machine.
@Suite(.serialized) struct PlanCLITests {
    static let scenarios = ["phone-rk3399", "server-8cpu", "laptop-hybrid"].flatMap { platform in
        ["low", "medium", "high"].map { (platform, $0) }
    }

    @Test(arguments: scenarios)
    func plansEveryShippedExampleAsJSON(platform: String, load: String) async throws {
        let result = try await blocking {
            try BuiltTool.run("gearboxctl", [
                "plan", "--platform", BuiltTool.example("\(platform).toml"),
                "--workload", BuiltTool.example("\(platform)-\(load).toml"), "--json",
            ])
        }
        #expect(result.status == 0, "\(platform)-\(load): \(result.stderr)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["feasible"] as? Bool == true)
        let watts = try #require(object["power_watts"] as? Double)
        #expect(watts > 0)
        let domains = try #require(object["domains"] as? [[String: Any]])
        #expect(!domains.isEmpty)
        for domain in domains {
            for key in ["name", "cpus", "low_khz", "high_khz", "p_high", "time_share_high"] {
                #expect(domain[key] != nil, "domain lacks \(key)")
            }
            let low = try #require(domain["low_khz"] as? Int), high = try #require(domain["high_khz"] as? Int)
            #expect(low <= high)
        }
        let queues = try #require(object["queues"] as? [[String: Any]])
        #expect(!queues.isEmpty)
        for queue in queues {
            let latency = try #require(queue["latency_ms"] as? Double)
            let target = try #require(queue["target_ms"] as? Double)
            #expect(latency <= target * (1 + 1e-9))
            #expect(["mean", "p95", "p99"].contains(queue["kind"] as? String ?? ""))
            let split = try #require(queue["split"] as? [String: Double])
            // Shares of the queue's requests (or work) per CPU: each a fraction, together all of it.
            #expect(!split.isEmpty && split.values.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(split)")
            #expect(abs(split.values.reduce(0, +) - 1) < 1e-6, "\(split)")
        }
        let cpus = try #require(object["cpus"] as? [[String: Any]])
        #expect(!cpus.isEmpty)
        // The host's power is its CPUs' plus what switching frequency costs, which only a
        // domain that mixes two speeds pays.
        let cpuWatts = cpus.compactMap { $0["watts"] as? Double }.reduce(0, +)
        let switching = try #require(object["switching_watts"] as? Double)
        #expect(abs(cpuWatts + switching - watts) < 1e-6 * max(1, watts))
        let mixing = domains.contains { ($0["dither_period_ms"] as? Double) != nil }
        #expect(mixing ? switching > 0 : switching == 0, "switching \(switching) W, a domain mixes: \(mixing)")
    }

    @Test func sameInputGivesByteIdenticalJSON() throws {
        let args = ["plan", "--platform", BuiltTool.example("laptop-hybrid.toml"),
                    "--workload", BuiltTool.example("laptop-hybrid-high.toml"), "--json"]
        let first = try BuiltTool.run("gearboxctl", args)
        let second = try BuiltTool.run("gearboxctl", args)
        #expect(!first.stdout.isEmpty)
        #expect(first.stdout == second.stdout)
    }

    @Test func readableTableNamesDomainsQueuesAndWatts() throws {
        let result = try BuiltTool.run("gearboxctl", [
            "plan", "--platform", BuiltTool.example("server-8cpu.toml"),
            "--queue", "name=web,rate=800,work-ms=2,mean-ms=10,cpus=0-3",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Planned power"))
        #expect(result.stdout.contains("DOMAIN") && result.stdout.contains("policy0"))
        #expect(result.stdout.contains("web") && result.stdout.contains("mean 10.00 ms"))
    }

    @Test func infeasibleInputExitsOneAndSaysSo() throws {
        // 8 CPUs of speed 1 cannot carry 10 ref-s of work per second.
        let result = try BuiltTool.run("gearboxctl", [
            "plan", "--platform", BuiltTool.example("server-8cpu.toml"),
            "--queue", "name=flood,rate=5000,work-ms=2,mean-ms=10", "--json",
        ])
        #expect(result.status == 1)
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["feasible"] as? Bool == false)
        let domains = try #require(object["domains"] as? [[String: Any]])
        #expect(domains.allSatisfy { ($0["low_khz"] as? Int) == 2_700_000 && ($0["high_khz"] as? Int) == 2_700_000 })
    }

    @Test func badInputExitsTwoWithOneLineNamingFileLineAndField() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gearbox-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let workload = directory.appendingPathComponent("w.toml")
        try "[[queue]]\nname = \"web\"\narrival_rate = -3\nmean_work_ms = 2\nlatency = { mean_ms = 10 }\n"
            .write(to: workload, atomically: true, encoding: .utf8)
        let result = try BuiltTool.run("gearboxctl", [
            "plan", "--platform", BuiltTool.example("server-8cpu.toml"), "--workload", workload.path,
        ])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(result.stderr.contains("\(workload.path):3: queue[1].arrival_rate: must be > 0"))
        #expect(result.stdout.isEmpty)

        let missing = try BuiltTool.run("gearboxctl", ["plan", "--platform", "/nonexistent.toml", "--queue", "name=a,rate=1,work-ms=1,mean-ms=10"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent.toml: no such file"))

        let usage = try BuiltTool.run("gearboxctl", ["plan", "--platform", BuiltTool.example("server-8cpu.toml")])
        #expect(usage.status == 2)
    }
}
