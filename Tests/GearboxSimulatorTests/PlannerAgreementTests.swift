import GearboxCore
import GearboxSimulator
import Testing

/// The planner's predictions (power, percentile latency, fork-join margins) against the
/// simulator running its plans, with 95 % confidence intervals from replications.
@Suite struct PlannerAgreementTests {
    /// Runs `plan` for `replications` seeds and returns the interval of `measure`.
    static func interval(
        _ plan: Plan, platform: Platform, workload: Workload, duration: Double,
        realisation: TwoSpeedRealisation = .perRequest, replications: Int = 6,
        _ measure: (SimulationResult) -> Double
    ) -> ConfidenceInterval {
        var configuration = SimulationConfiguration()
        configuration.duration = duration
        configuration.warmUp = duration / 20
        configuration.realisation = realisation
        let simulator = Simulator(platform: platform, workload: workload, configuration: configuration)
        return ConfidenceInterval(replicate(replications, simulator: simulator, policy: .fixed(plan), measure))
    }

    static let bigLittleWorkload = Workload(queues: [
        WorkQueue(name: "web", arrivalRate: 500, meanWork: 0.001,
                  target: LatencyTarget(kind: .p99, seconds: 0.012)),
        WorkQueue(name: "batch", arrivalRate: 60, meanWork: 0.004, scv: 2,
                  target: LatencyTarget(kind: .mean, seconds: 0.030)),
    ])

    /// The planner's power within 2 % of the simulated power (the whole interval), in
    /// both realisations, for a plan that mixes speeds and splits across a big.LITTLE host.
    @Test(arguments: TwoSpeedRealisation.allCases)
    func plannedPowerMatchesSimulation(realisation: TwoSpeedRealisation) {
        let plan = Planner().plan(platform: TestHosts.bigLittle, workload: Self.bigLittleWorkload)
        #expect(plan.feasible)
        #expect(plan.domains.contains { $0.pHigh > 0 && $0.pHigh < 1 }, "the plan should mix two speeds somewhere")
        let ci = Self.interval(plan, platform: TestHosts.bigLittle, workload: Self.bigLittleWorkload,
                               duration: 100, realisation: realisation) { $0.power.value }
        // A per-request mix draws each job's speed and never switches: it pays no switching.
        let switching = realisation == .perRequest
            ? LatencyModel(platform: TestHosts.bigLittle, workload: Self.bigLittleWorkload, plan: plan).actuationWatts : 0
        let predicted = plan.power.value - switching
        print("planner power \(predicted) W, simulated (\(realisation.rawValue)) \(ci) W")
        #expect(abs(ci.mean - predicted) + ci.halfWidth < 0.02 * predicted)
    }

    /// docs/model.md's two-queue CPU (2 ms work SCV 1 and 0.5 ms SCV 1.5, 600 requests/s),
    /// here on a CPU with two operating points and p99 targets tight enough that the
    /// planner mixes them: each queue's simulated p99 within 2 % of the planner's prediction,
    /// the exact tail (the inverted Pollaczek–Khinchine transform), and within 2 % of guarded
    /// Cramér–Lundberg, which the search uses (a mixed service time is where it is no longer
    /// exact; here they agree to 1e-5).
    @Test func twoQueueP99MatchesPlannerExactTailAndCramerLundberg() {
        let platform = TestPlatforms.identical(cpus: 1, points: [(1_500_000, 0.5), (2_000_000, 1)])
        let workload = Workload(queues: [
            WorkQueue(name: "long", arrivalRate: 200, meanWork: 0.002, scv: 1,
                      target: LatencyTarget(kind: .p99, seconds: 0.030)),
            WorkQueue(name: "short", arrivalRate: 400, meanWork: 0.0005, scv: 1.5,
                      target: LatencyTarget(kind: .p99, seconds: 0.030)),
        ])
        let plan = Planner().plan(platform: platform, workload: workload)
        #expect(plan.feasible)
        #expect(plan.domains[0].pHigh > 0 && plan.domains[0].pHigh < 1, "the plan should mix the two speeds")
        var approximate = PlannerConfiguration()
        approximate.exactPercentileTails = false
        let cramerLundberg = LatencyModel(platform: platform, workload: workload, plan: plan, configuration: approximate)
        for q in 0..<2 {
            let predicted = plan.queues[q].predictedLatency
            let guarded = cramerLundberg.latency(ofQueue: q, kind: .p99)
            let ci = Self.interval(plan, platform: platform, workload: workload, duration: 1500,
                                   replications: 8) { $0.queues[q].p99 }
            print("p99 \(workload.queues[q].name): exact \(predicted) s, Cramér–Lundberg \(guarded) s (p_high \(plan.domains[0].pHigh)), simulated \(ci) s")
            #expect(abs(ci.mean / predicted - 1) < 0.02, "p99 \(ci) vs planner \(predicted)")
            #expect(abs(ci.mean / guarded - 1) < 0.02, "p99 \(ci) vs Cramér–Lundberg \(guarded)")
            #expect(ci.relativeHalfWidth < 0.015, "interval too wide for a 2 % check: \(ci)")
        }
    }

    /// Short requests sharing a CPU with a little heavy-tailed work (SCV 2, 5 % of the
    /// load): the exact tail (inverted Pollaczek–Khinchine transform, 27.6 ms) matches the
    /// simulated p99; guarded Cramér–Lundberg, which the search uses, is far below it.
    /// The same mix on a random host made the planner promise 6.0 ms where 24.7 ms was real.
    @Test func exactP99MatchesSimulationWhereCramerLundbergIsOptimistic() {
        let platform = TestPlatforms.identical(cpus: 1)
        let workload = Workload(queues: [
            WorkQueue(name: "short", arrivalRate: 270, meanWork: 0.001,
                      target: LatencyTarget(kind: .p99, seconds: 0.040)),
            WorkQueue(name: "heavy", arrivalRate: 6.4, meanWork: 0.008, scv: 2,
                      target: LatencyTarget(kind: .mean, seconds: 1)),
        ])
        let plan = Planner().plan(platform: platform, workload: workload)
        #expect(plan.feasible)
        var approximate = PlannerConfiguration()
        approximate.exactPercentileTails = false
        let cramerLundberg = LatencyModel(platform: platform, workload: workload, plan: plan, configuration: approximate)
            .latency(ofQueue: 0, kind: .p99)
        let exact = plan.queues[0].predictedLatency
        let ci = Self.interval(plan, platform: platform, workload: workload, duration: 1500, replications: 8) { $0.queues[0].p99 }
        print("short p99: exact \(exact) s, Cramér–Lundberg \(cramerLundberg) s, simulated \(ci) s")
        #expect(abs(ci.mean / exact - 1) < 0.02, "p99 \(ci) vs exact \(exact)")
        #expect(cramerLundberg < 0.8 * ci.mean)
    }

    /// gearbox re-planning from its own estimates costs a little more than the oracle (the
    /// plan for the true rates, no headroom): it plans 3 % short of each target for the
    /// estimate plus one deviation of its noise. That price is bounded, and it buys latency:
    /// no queue is slower than under the oracle. (Before percentiles were judged by the
    /// exact tail, both missed web's p99 here by 20–26 %: Cramér–Lundberg was optimistic
    /// for a little CPU that web shared with SCV-2 batch work.)
    @Test func onlineEstimatesCostAboutWhatTheOracleCosts() {
        var configuration = SimulationConfiguration()
        configuration.duration = 200
        configuration.warmUp = 20
        let simulator = Simulator(platform: TestHosts.bigLittle, workload: Self.bigLittleWorkload,
                                  configuration: configuration)
        let gearbox = simulator.run(policy: .gearbox), oracle = simulator.run(policy: .oracle)
        print("gearbox \(gearbox.power.value) W (\(gearbox.plans) plans), oracle \(oracle.power.value) W")
        #expect(gearbox.power.value >= 0.99 * oracle.power.value)
        #expect(gearbox.power.value <= 1.06 * oracle.power.value)
        for (g, o) in zip(gearbox.queues, oracle.queues) {
            #expect(g.measured <= o.measured + g.halfWidth + o.halfWidth, "\(g.name): gearbox \(g.measured) s, oracle \(o.measured) s")
        }
        #expect(gearbox.plans > 1)
    }
}

/// gearbox's optional safety margin on targets.
@Suite struct TargetHeadroomTests {
    /// Planning for targets 20 % shorter buys lower latency with at least as much power.
    @Test func headroomLowersLatencyAndCostsPower() {
        let workload = Workload(queues: [
            WorkQueue(name: "web", arrivalRate: 500, meanWork: 0.001,
                      target: LatencyTarget(kind: .mean, seconds: 0.006))
        ])
        var configuration = SimulationConfiguration()
        configuration.duration = 60
        configuration.warmUp = 5
        configuration.gearbox.targetHeadroom = 0
        let plain = Simulator(platform: TestHosts.bigLittle, workload: workload, configuration: configuration)
        var margined = plain
        margined.configuration.gearbox.targetHeadroom = 0.2
        let a = plain.run(policy: .gearbox), b = margined.run(policy: .gearbox)
        print("headroom 0: \(a.queues[0].mean) s, \(a.power.value) W; headroom 0.2: \(b.queues[0].mean) s, \(b.power.value) W")
        #expect(b.queues[0].mean < 0.9 * a.queues[0].mean)
        #expect(b.queues[0].mean < 0.85 * 0.006)
        #expect(b.power.value >= a.power.value)
    }
}

/// gearbox's re-plans under steady load come from estimate noise only; the band must absorb it.
@Suite struct ReplanNoiseTests {
    /// 10 requests per second for 10 minutes: a fixed 5 % band re-planned 97–126 times here
    /// (the EWMA's relative noise is about 6 %); the Poisson-widened band should rarely fire.
    @Test func steadyLowRateRarelyReplans() {
        let workload = Workload(queues: [
            WorkQueue(name: "rpc", arrivalRate: 10, meanWork: 0.004,
                      target: LatencyTarget(kind: .mean, seconds: 0.02))
        ])
        var configuration = SimulationConfiguration()
        configuration.duration = 600
        configuration.warmUp = 30
        let result = Simulator(platform: TestHosts.bigLittle, workload: workload, configuration: configuration)
            .run(policy: .gearbox)
        print("steady 10/s for 600 s: \(result.plans) plans")
        #expect(result.plans <= 30)
        #expect(result.queues[0].met)
    }
}
