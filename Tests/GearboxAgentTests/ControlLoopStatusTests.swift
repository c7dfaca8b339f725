import GearboxAgent
import GearboxConfig
import GearboxControl
import GearboxCore
import Testing

/// The loop's state as status and explain show it, with the real planner on a small host.
@Suite struct ControlLoopStatusTests {
    @Test func statusAndExplainFollowTheLoop() throws {
        var configuration = AgentConfiguration()
        configuration.queues = [AgentQueue(queue: WorkQueue(
            name: "web", arrivalRate: 300, meanWork: 0.002, target: LatencyTarget(kind: .mean, seconds: 0.010), cpus: [0, 1]))]
        var loop = ControlLoop(platform: ControlLoopTests.platform, configuration: configuration)
        let first = try #require(loop.tick(busy: [:], interval: 1).newPlan)
        let (override, _) = loop.addOverride(scope: .cpus([1]), action: .performance, expiresAt: 5)

        let document = StatusDocument.json(loop.status(mode: "service", now: 1, currentFrequencies: ["policy1": Kilohertz(2_000_000)]))
        let domains = try #require(document["domains"]?.arrayItems)
        #expect(domains.count == 4)
        #expect(domains[1]["pinned_khz"]?.intValue == 2_000_000 && domains[1]["current_khz"]?.intValue == 2_000_000)
        #expect(domains[0]["pinned_khz"]?.isNull == true && domains[0]["current_khz"]?.isNull == true)
        let overrides = try #require(document["overrides"]?.arrayItems)
        #expect(overrides.count == 1 && overrides[0]["id"]?.intValue == override.id)
        #expect(overrides[0]["mode"]?.stringValue == "performance" && overrides[0]["expires_in_s"]?.doubleValue == 4)
        let web = try #require(document["queues"]?.arrayItems?.first)
        #expect(web["name"]?.stringValue == "web" && web["arrival_rate"]?.doubleValue == 300)
        // The prediction shown is the one for what runs: the pinned plan's, not the first one's.
        let pinnedPrediction = try #require(loop.currentPlan?.queues.first?.predictedLatency)
        #expect(web["predicted_ms"]?.doubleValue == pinnedPrediction * 1000)
        #expect(first.queues.first?.predictedLatency != pinnedPrediction)

        let explain = try #require(loop.explainInputs).document()
        let queue = try #require(explain["queues"]?.arrayItems?.first)
        #expect(queue["name"]?.stringValue == "web")
        #expect(queue["pinned"]?.boolValue == true)
        #expect(explain["domains"]?.arrayItems?[1]["note"]?.stringValue == "pinned by an override")
    }

    @Test func beforeTheFirstPlanThereIsNothingToExplain() {
        let loop = ControlLoop(platform: ControlLoopTests.platform, configuration: AgentConfiguration())
        #expect(loop.explainInputs == nil)
        #expect(StatusDocument.json(loop.status(mode: "dry-run", now: 0))["plan"]?.isNull == true)
    }
}
