import GearboxAgent
import GearboxControl
import GearboxCore
import Testing

@Suite struct StatusDocumentTests {
    @Test func showsPlanEstimatesOverridesAndTimeLeft() throws {
        var status = MetricsFileTests.status(now: 100, withBatch: true)
        _ = status.overrides.add(scope: .domain("policy0"), action: .frequency(Kilohertz(1_000_000)), expiresAt: 102.5)
        status.plan = status.overrides.apply(to: status.plan!, on: status.platform)
        status.heldDomains = ["policy0"]
        let document = StatusDocument.json(status)
        // The same bytes through the protocol's parser and back: the document is valid JSON.
        #expect(try JSONParser.parse(document.rendered()) == document)
        #expect(document["mode"]?.stringValue == "service")
        #expect(document["power_watts"]?.doubleValue == 4.75)

        let domain = try #require(document["domains"]?.arrayItems?.first)
        #expect(domain["cpus"]?.arrayItems?.compactMap(\.intValue) == [0, 1])
        #expect(domain["low_khz"]?.intValue == 1_000_000 && domain["high_khz"]?.intValue == 1_000_000)
        #expect(domain["pinned_khz"]?.intValue == 1_000_000)
        #expect(domain["current_khz"]?.intValue == 2_000_000)
        #expect(domain["held"]?.boolValue == true)

        let queues = try #require(document["queues"]?.arrayItems)
        #expect(queues.compactMap { $0["name"]?.stringValue } == ["web", "batch", "logs"])
        #expect(queues[0]["arrival_rate"]?.doubleValue == 812.5)
        #expect(queues[0]["mean_work_ms"]?.doubleValue.map { abs($0 - 2.1) < 1e-12 } == true)
        #expect(queues[0]["kind"]?.stringValue == "p99" && queues[0]["target_ms"]?.doubleValue == 40)
        #expect(queues[0]["predicted_ms"]?.doubleValue.map { abs($0 - 31.2) < 1e-9 } == true)
        #expect(queues[0]["measured_mean_ms"]?.doubleValue == 8.5)
        #expect(queues[0]["met"]?.boolValue == true && queues[0]["stale"]?.isNull == true)
        #expect(queues[2]["stale"]?.stringValue == "connection refused" && queues[2]["predicted_ms"]?.isNull == true)

        let overrides = try #require(document["overrides"]?.arrayItems)
        #expect(overrides.count == 2)
        #expect(overrides[0]["queue"]?.stringValue == "web" && overrides[0]["expires_in_s"]?.isNull == true)
        #expect(overrides[1]["scope"]?["domain"]?.stringValue == "policy0")
        #expect(overrides[1]["frequency_khz"]?.intValue == 1_000_000)
        #expect(overrides[1]["expires_in_s"]?.doubleValue == 2.5)
        #expect(document["plan"]?["domains"]?.arrayItems?.first?["fallback"]?.stringValue == "pinned by an override")
    }

    @Test func beforeTheFirstPlanTheFieldsAreNull() {
        let status = AgentStatus(mode: "dry-run", now: 0, platform: RecordingHandler.platform, plan: nil, workload: Workload(queues: []))
        let document = StatusDocument.json(status)
        #expect(document["plan"]?.isNull == true && document["feasible"]?.isNull == true)
        #expect(document["domains"]?.arrayItems?.first?["low_khz"]?.isNull == true)
    }

    @Test func overridesNamingWhatTheHostLacksAreRefused() {
        let platform = RecordingHandler.platform
        let cases: [(Override.Scope, Override.Action, String)] = [
            (.domain("big"), .performance, "no frequency domain named \"big\"; this host has policy0"),
            (.cpus([1, 2, 3]), .powersave, "CPUs 2-3 are not governed here; this host has CPUs 0-1"),
            (.host, .frequency(Kilohertz(5_000_000)), "5000000 kHz is outside domain policy0's range 1000000-2000000 kHz"),
            (.host, .latencyTarget(queue: "db", target: LatencyTarget(kind: .mean, seconds: 1)), "no queue named \"db\"; the queues are web"),
        ]
        for (scope, action, message) in cases {
            #expect(throws: ControlFailure(.invalid, message)) {
                try OverrideValidation.check(scope: scope, action: action, platform: platform, queueNames: ["web"])
            }
        }
        #expect(throws: Never.self) {
            try OverrideValidation.check(scope: .cpus([1]), action: .frequency(Kilohertz(1_500_000)), platform: platform, queueNames: [])
        }
    }
}
