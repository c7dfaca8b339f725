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
        // The prediction shown is the one for what runs: CPU 1 pinned at 2 GHz. By hand (M/G/1,
        // Pollaczek–Khinchine): each CPU i takes λ_i = 300 × split(i) requests/s of exponential
        // work (SCV 1, w = 2 ms), run at s_H with probability p, else s_L (speed = f / 2 GHz):
        // E[S] = w (p/s_H + (1−p)/s_L), E[S²] = 2 w² (p/s_H² + (1−p)/s_L²), ρ = λ_i E[S],
        // mean response E[S] + λ_i E[S²] / (2 (1 − ρ)); the queue's mean weighs CPUs by split.
        let running = try #require(loop.currentPlan)
        let split = try #require(running.queues.first?.split)
        #expect(running.domains[1].low == Kilohertz(2_000_000) && running.domains[1].high == Kilohertz(2_000_000))
        var byHand = 0.0
        for (cpu, share) in split where share > 0 {
            let domain = running.domains[cpu]
            let p = domain.pHigh, sLow = Double(domain.low.value) / 2e6, sHigh = Double(domain.high.value) / 2e6
            let rate = 300 * share
            let service = 0.002 * (p / sHigh + (1 - p) / sLow)
            let secondMoment = 2 * 0.002 * 0.002 * (p / (sHigh * sHigh) + (1 - p) / (sLow * sLow))
            byHand += share * (service + rate * secondMoment / (2 * (1 - rate * service)))
        }
        #expect(split.keys.sorted() == [0, 1] || split.keys.sorted() == [1], "\(split)")
        let shown = try #require(web["predicted_ms"]?.doubleValue)
        #expect(abs(shown - byHand * 1000) < 1e-9 * shown, "status shows \(shown) ms, by hand \(byHand * 1000) ms")
        // The first plan ran CPU 1 slower, and predicted a longer wait.
        let firstPrediction = try #require(first.queues.first?.predictedLatency)
        #expect(firstPrediction > byHand * (1 + 1e-6), "first plan \(firstPrediction) s, pinned \(byHand) s")

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
