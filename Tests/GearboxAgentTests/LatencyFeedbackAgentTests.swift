import GearboxAgent
import GearboxConfig
import GearboxControl
import GearboxCore
import Testing

/// The agent's feedback: a live queue's Prometheus histogram over its p99 target tightens the
/// planning target (the same `LatencyFeedback` as the simulator), logged once per move and
/// shown by status and explain, with the plan still reported against the real target.
@Suite struct LatencyFeedbackAgentTests {
    static let source = QueueSource(location: .file("/m"), arrivals: "req_total", histogram: "latency_seconds")

    /// A scrape after `n` requests in all, of which 98.5 % took at most 10 ms, 99.5 % at
    /// most 40 ms and the rest at most 100 ms (cumulative counts, as Prometheus exposes them).
    static func scrape(_ n: Double) -> [PrometheusText.Sample] {
        try! PrometheusText.parse("""
            req_total \(n)
            latency_seconds_bucket{le="0.01"} \(0.985 * n)
            latency_seconds_bucket{le="0.04"} \(0.995 * n)
            latency_seconds_bucket{le="0.1"} \(n)
            latency_seconds_bucket{le="+Inf"} \(n)
            latency_seconds_sum \(0.004 * n)
            latency_seconds_count \(n)
            """)
    }

    @Test func histogramOverTargetTightensThePlanningTarget() throws {
        var configuration = AgentConfiguration()
        configuration.queues = [AgentQueue(queue: WorkQueue(
            name: "api", arrivalRate: 300, meanWork: 0.002, target: LatencyTarget(kind: .p99, seconds: 0.020)), source: Self.source)]
        var loop = ControlLoop(platform: ControlLoopTests.platform, configuration: configuration)
        var moves: [String] = []
        // 300 requests a second: the 10 s window holds 3,000, more than the 2,000 a p99 needs.
        for second in 0...10 {
            let decision = loop.tick(busy: [:], interval: 1, scrapes: ["api": .samples(Self.scrape(300 * Double(second)))], now: Double(second))
            moves += decision.queueEvents.map(\.reason).filter { $0.hasPrefix("feedback") }
        }
        // p99 by Prometheus's interpolation: rank 0.99 of the window, between 10 ms (98.5 %)
        // and 40 ms (99.5 %): 10 + 30 × 0.5 = 25 ms against 20 ms, so ln factor = −0.7 ln 1.25.
        let factor = Math.exp(-0.7 * Math.log(1.25))
        #expect(moves.count == 1)
        #expect(moves.first?.contains("measured 25.00 ms against 20.00 ms") == true)
        #expect(abs(loop.feedback.factor("api") - factor) < 1e-9)
        let planned = try #require(loop.currentPlan?.queues.first { $0.name == "api" })
        #expect(planned.target.seconds == 0.020)
        #expect(abs(planned.planningFactor - factor) < 1e-9)
        let status = StatusDocument.json(loop.status(mode: "service", now: 10))
        let api = try #require(status["queues"]?.arrayItems?.first)
        #expect(abs((api["planning_factor"]?.doubleValue ?? 0) - factor) < 1e-9)
        #expect(api["target_ms"]?.doubleValue == 20)
        let inputs = try #require(loop.explainInputs)
        let explain = ExplainDocument.json(platform: inputs.platform, workload: inputs.workload, plan: inputs.plan, planner: inputs.planner)
        #expect(abs((explain["queues"]?.arrayItems?.first?["planning_factor"]?.doubleValue ?? 0) - factor) < 1e-9)
    }

    /// A window quantile lands in the +∞ bucket: the highest finite bound, as histogram_quantile.
    @Test func quantileInTheOpenBucketIsTheHighestFiniteBound() {
        var window = HistogramWindow()
        window.add(seconds: 10, count: 100, sum: 5, buckets: [0.1: 90, .infinity: 100])
        #expect(window.statistic(.p99) == 0.1)
        #expect(window.statistic(.mean) == 0.05)
        // 95 of 100: halfway between 0 and 0.1 is 45, so p95 sits in the +∞ bucket too; p50 at 0.1 × 50/90.
        #expect(abs(window.statistic(.p95)! - 0.1) < 1e-12)
    }
}
