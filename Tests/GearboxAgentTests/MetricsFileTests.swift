import CoreMetrics
import Foundation
import GearboxAgent
import GearboxControl
import GearboxCore
import GearboxLinux
import Testing

/// The metrics file read back by the Prometheus project's own Python client parser
/// (`prometheus_client`, Debian's python3-prometheus-client).
@Suite struct MetricsFileTests {
    static let python = "/usr/bin/python3"
    static let parser = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        text = open(sys.argv[1]).read()
        out = []
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                out.append({"family": family.name, "type": family.type, "help": family.documentation,
                            "name": s.name, "labels": s.labels, "value": s.value})
        print(json.dumps(out))
        """
    static var hasParser: Bool {
        FileManager.default.isExecutableFile(atPath: python)
            && (try? SpawnedChild(python, ["-c", "import prometheus_client"]).finish().status) == 0
    }

    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
        var type: String
        var help: String
    }

    static func parse(_ path: String) async throws -> [Sample] {
        let result = try await runChild(python, ["-c", parser, path])
        #expect(result.status == 0, "\(result.stderr)")
        let items = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        return items.map {
            Sample(name: $0["name"] as! String, labels: $0["labels"] as! [String: String], value: ($0["value"] as! NSNumber).doubleValue,
                   type: $0["type"] as! String, help: $0["help"] as! String)
        }
    }

    static func status(now: Double, withBatch: Bool) -> AgentStatus {
        let platform = RecordingHandler.platform
        let web = WorkQueue(name: "web", arrivalRate: 812.5, meanWork: 0.0021, target: LatencyTarget(kind: .p99, seconds: 0.040))
        let batch = WorkQueue(name: "batch", arrivalRate: 3, meanWork: 0.5, target: LatencyTarget(kind: .mean, seconds: 2))
        let plan = Plan(
            feasible: true, power: Watts(4.75),
            domains: [DomainPlan(name: "policy0", cpus: [0, 1], low: Kilohertz(1_000_000), high: Kilohertz(2_000_000), pHigh: 0.3, timeShareHigh: 0.176)],
            queues: [QueuePlan(name: "web", target: web.target, predictedLatency: 0.0312, split: [0: 0.5, 1: 0.5])]
                + (withBatch ? [QueuePlan(name: "batch", target: batch.target, predictedLatency: 1.2, split: [1: 1])] : []),
            cpus: [])
        var overrides = OverrideSet()
        _ = overrides.add(scope: .host, action: .latencyTarget(queue: "web", target: web.target), expiresAt: nil)
        return AgentStatus(
            mode: "service", now: now, platform: platform, plan: plan, workload: Workload(queues: [web] + (withBatch ? [batch] : [])),
            measuredLatency: ["web": 0.0085], staleQueues: ["logs": "connection refused"], overrides: overrides,
            currentFrequencies: ["policy0": Kilohertz(2_000_000)])
    }

    @Test(.enabled(if: hasParser, "python3-prometheus-client is not installed (scripts/install-deps installs it)"))
    func theFileParsesWithThePrometheusParserAndHoldsTheState() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let path = directory.file("textfile/gearbox.prom")
        let metrics = MetricsFile(path: path)
        let wraps: UInt64 = 262_143_328_850
        let first = [EnergyCounter(zone: "intel-rapl:0", name: "package-0", energyMicrojoules: wraps - 1_000_000, maxEnergyRangeMicrojoules: wraps)]
        try metrics.write(Self.status(now: 10, withBatch: true), energy: first)
        // Two seconds later the counter has wrapped: 1 J up to the range, 1 more past 0 (and the +1 of the wrap).
        let second = [EnergyCounter(zone: "intel-rapl:0", name: "package-0", energyMicrojoules: 999_999, maxEnergyRangeMicrojoules: wraps)]
        let counter = CoreMetrics.Counter(label: "gearbox_plan_changes_total", factory: metrics.factory)
        counter.increment(by: 3)
        try metrics.write(Self.status(now: 12, withBatch: true), energy: second)

        let samples = try await Self.parse(path)
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
        #expect(value("gearbox_planned_watts") == 4.75)
        #expect(value("gearbox_plan_feasible") == 1)
        #expect(value("gearbox_overrides_active") == 1)
        #expect(value("gearbox_domain_frequency_hertz", ["domain": "policy0", "level": "low"]) == 1e9)
        #expect(value("gearbox_domain_frequency_hertz", ["domain": "policy0", "level": "high"]) == 2e9)
        #expect(value("gearbox_domain_frequency_hertz", ["domain": "policy0", "level": "current"]) == 2e9)
        #expect(value("gearbox_domain_p_high", ["domain": "policy0"]) == 0.3)
        #expect(value("gearbox_domain_time_share_high", ["domain": "policy0"]) == 0.176)
        #expect(value("gearbox_domain_pinned", ["domain": "policy0"]) == 0)
        #expect(value("gearbox_queue_target_seconds", ["queue": "web", "kind": "p99"]) == 0.040)
        #expect(value("gearbox_queue_predicted_latency_seconds", ["queue": "web", "kind": "p99"]) == 0.0312)
        #expect(value("gearbox_queue_measured_latency_seconds", ["queue": "web", "kind": "mean"]) == 0.0085)
        #expect(value("gearbox_queue_arrival_rate_per_second", ["queue": "web"]) == 812.5)
        #expect(value("gearbox_queue_mean_work_seconds", ["queue": "web"]) == 0.0021)
        #expect(value("gearbox_queue_stale", ["queue": "web"]) == 0)
        #expect(value("gearbox_queue_stale", ["queue": "logs"]) == 1)
        #expect(value("gearbox_queue_target_seconds", ["queue": "batch", "kind": "mean"]) == 2)
        let joules = 2.0
        #expect(value("gearbox_rapl_energy_joules_total", ["zone": "intel-rapl:0", "name": "package-0"]).map { abs($0 - joules) < 1e-9 } == true)
        #expect(value("gearbox_rapl_watts", ["zone": "intel-rapl:0", "name": "package-0"]).map { abs($0 - joules / 2) < 1e-9 } == true)
        #expect(value("gearbox_plan_changes_total") == 3)
        #expect(samples.first { $0.name == "gearbox_rapl_energy_joules_total" }?.type == "counter")
        #expect(samples.first { $0.name == "gearbox_planned_watts" }?.help.contains("watts") == true)
        #expect(samples.filter { $0.name == "gearbox_planned_watts" }.count == 1)

        // A reload dropped the batch queue: its series go with it.
        try metrics.write(Self.status(now: 13, withBatch: false))
        let after = try await Self.parse(path)
        #expect(!after.contains { $0.labels["queue"] == "batch" })
        #expect(after.contains { $0.labels["queue"] == "web" })
        #expect(!FileManager.default.fileExists(atPath: directory.file("textfile/.gearbox.prom.\(getpid()).tmp")))
    }
}
