import GearboxConfig
import GearboxCore
import Testing
@testable import GearboxAgent

/// The control loop with the real planner on a small platform.
@Suite struct ControlLoopTests {
    static let platform = Platform(domains: (0..<4).map { cpu in
        FrequencyDomain(name: "policy\(cpu)", cpus: [cpu], capacity: 1024, idlePower: Watts(0.2),
                        operatingPoints: FrequencyDomain.operatingPoints(
                            frequencies: [1_000_000, 1_500_000, 2_000_000].map(Kilohertz.init),
                            power: ParametricPower(staticWatts: 0.5, dynamicWatts: 2.5)))
    })

    @Test func kernelOnlyDemandRaisesAndLowersFrequencies() {
        var loop = ControlLoop(platform: Self.platform, configuration: AgentConfiguration())
        let light = loop.tick(busy: [0: 0.05, 1: 0.05, 2: 0.05, 3: 0.05], interval: 1)
        let lightPlan = try! #require(light.newPlan)
        #expect(lightPlan.domains.allSatisfy { $0.high == Kilohertz(1_000_000) })
        // CPU 2 becomes very busy: a burst, re-planned at once, its domain speeds up.
        let heavy = loop.tick(busy: [0: 0.05, 1: 0.05, 2: 0.9, 3: 0.05], interval: 1)
        let heavyPlan = try! #require(heavy.newPlan)
        #expect(heavy.reason == "burst in demand")
        #expect(heavyPlan.domains[2].high > Kilohertz(1_000_000))
        #expect(heavyPlan.domains[0].high == Kilohertz(1_000_000))
    }

    static let target = LatencyTarget(kind: .mean, seconds: 0.010)
    static func liveConfiguration() -> AgentConfiguration {
        var c = AgentConfiguration()
        c.queues = [AgentQueue(
            queue: WorkQueue(name: "api", arrivalRate: 1, meanWork: 0.002, target: target, cpus: [0, 1]),
            source: QueueSource(location: .file("/m"), arrivals: "req_total"))]
        return c
    }

    static func samples(_ count: Double) -> ControlLoop.Scrape {
        .samples(try! PrometheusText.parse("req_total \(count)\n"))
    }

    @Test func liveRatesDriveThePlanAndAStaleSourceFallsBackToKernelDemand() {
        var loop = ControlLoop(platform: Self.platform, configuration: Self.liveConfiguration())
        let busy: [Int: Double] = [0: 0.3, 1: 0.3, 2: 0, 3: 0]
        _ = loop.tick(busy: busy, interval: 1, scrapes: ["api": Self.samples(0)])
        let second = loop.tick(busy: busy, interval: 1, scrapes: ["api": Self.samples(300)])
        #expect(loop.plannedWorkload?.queues.map(\.name) == ["api"])
        #expect(abs((loop.plannedWorkload?.queues.first?.arrivalRate ?? 0) - 300) < 1e-9)
        _ = second
        let stale = loop.tick(busy: busy, interval: 1, scrapes: ["api": .failed("connection refused")])
        #expect(stale.queueEvents == [ControlLoop.QueueEvent(queue: "api", stale: true, reason: "connection refused")])
        #expect(loop.plannedWorkload?.queues.map(\.name) == ["cpu0", "cpu1"])
        let again = loop.tick(busy: busy, interval: 1, scrapes: ["api": .failed("connection refused")])
        #expect(again.queueEvents.isEmpty) // logged once
    }

    /// The agent plans 3 % short of each target by default, and reports against the real one.
    @Test func plansWithTargetHeadroomAndReportsTheRealTarget() throws {
        let tight = LatencyTarget(kind: .mean, seconds: 0.0045)
        var exact = AgentConfiguration()
        exact.targetHeadroom = 0
        exact.queues = [AgentQueue(queue: WorkQueue(name: "web", arrivalRate: 400, meanWork: 0.002, target: tight))]
        var margined = exact
        margined.targetHeadroom = 0.03
        var a = ControlLoop(platform: Self.platform, configuration: exact)
        var b = ControlLoop(platform: Self.platform, configuration: margined)
        let planA = try #require(a.tick(busy: [:], interval: 1, now: 0).newPlan)
        let planB = try #require(b.tick(busy: [:], interval: 1, now: 0).newPlan)
        #expect(planA.queues[0].predictedLatency > 0.98 * tight.seconds, "the target should bind for this test to mean anything")
        #expect(planB.queues[0].predictedLatency <= 0.97 * tight.seconds * (1 + 1e-6))
        #expect(planB.queues[0].target == tight)
        #expect(planB.power.value > planA.power.value)
    }

    @Test func overridesPinAndExpire() {
        var c = AgentConfiguration()
        c.queues = [AgentQueue(queue: WorkQueue(name: "web", arrivalRate: 100, meanWork: 0.002, target: Self.target))]
        var loop = ControlLoop(platform: Self.platform, configuration: c)
        _ = loop.tick(busy: [:], interval: 1, now: 0)
        let (_, pinned) = loop.addOverride(scope: .domain("policy1"), action: .performance, expiresAt: 2)
        let plan = try! #require(pinned.newPlan)
        #expect(plan.domains[1].low == Kilohertz(2_000_000) && plan.domains[1].high == Kilohertz(2_000_000))
        let unchanged = loop.tick(busy: [:], interval: 1, now: 1)
        #expect(unchanged.newPlan == nil)
        let expired = loop.tick(busy: [:], interval: 1, now: 2.5)
        #expect(expired.expired.count == 1)
        #expect(expired.newPlan?.domains[1].high != Kilohertz(2_000_000))
        let (_, target) = loop.addOverride(scope: .host, action: .latencyTarget(queue: "web", target: LatencyTarget(kind: .mean, seconds: 0.003)), expiresAt: nil)
        #expect(target.newPlan?.queues.first?.target.seconds == 0.003)
        let (count, _) = loop.resume()
        #expect(count == 1)
    }
}

@Suite struct CoolDownTests {
    @Test func threeWindowsOverTargetRunTheQueuesCPUsAtTopSpeed() {
        var c = ControlLoopTests.liveConfiguration()
        c.queues[0].source?.histogram = "latency_seconds"
        var loop = ControlLoop(platform: ControlLoopTests.platform, configuration: c)
        func scrape(_ n: Double, latencySum: Double) -> ControlLoop.Scrape {
            .samples(try! PrometheusText.parse("req_total \(n)\nlatency_seconds_sum \(latencySum)\nlatency_seconds_count \(n)\n"))
        }
        var sum = 0.0
        var decisions: [ControlLoop.Decision] = []
        for i in 0..<5 {
            // 100 requests a second, each measured at 30 ms against a 10 ms mean target.
            sum += 100 * 0.030
            decisions.append(loop.tick(busy: [:], interval: 1, scrapes: ["api": scrape(Double(i + 1) * 100, latencySum: sum)], now: Double(i)))
        }
        let coolDowns = decisions.flatMap(\.queueEvents).filter { $0.reason.hasPrefix("measured latency") }
        #expect(coolDowns.count == 1)
        #expect(loop.overrides.active.count == 1)
        let plan = try! #require(loop.currentPlan)
        #expect(plan.domains[0].high == Kilohertz(2_000_000) && plan.domains[1].high == Kilohertz(2_000_000))
    }
}
