import GearboxCore
import Testing
@testable import GearboxAgent

@Suite struct EstimationTests {
    @Test func halfLifeHalvesTheGapWhateverTheTick() {
        for tick in [0.1, 0.5, 1.0] {
            var rate = SmoothedRate(halfLife: 10, initial: 100)
            var t = 0.0
            while t < 10 - 1e-9 { rate.add(200, over: tick); t += tick }
            // After one half-life the gap to the new level has halved: 150.
            #expect(abs(rate.value! - 150) < 1e-9, "tick \(tick)")
        }
    }

    @Test func burstIsThreeStandardDeviationsOfAPoissonCount() {
        let rate = SmoothedRate(halfLife: 10, initial: 100)
        // Expected 100 per second, sd 10: 131 is a burst, 125 is not.
        #expect(!rate.isBurst(count: 125, over: 1))
        #expect(rate.isBurst(count: 132, over: 1))
        #expect(!SmoothedRate(halfLife: 10).isBurst(count: 1e6, over: 1))
    }

    @Test func kernelDemandBecomesOneQueuePerBusyCPU() {
        let demand = KernelDemand(requestWork: 0.002, target: LatencyTarget(kind: .mean, seconds: 0.02))
        let workload = demand.workload(busy: [0: 0.5, 1: 0.0, 2: 0.25], averageSpeed: [0: 0.8, 1: 1, 2: 0.4])
        #expect(workload.queues.map(\.name) == ["cpu0", "cpu2"])
        // 0.5 busy at speed 0.8 is 0.4 ref-s/s of work: 200 requests of 2 ms per second.
        #expect(abs(workload.queues[0].arrivalRate - 200) < 1e-9)
        #expect(abs(workload.queues[1].arrivalRate - 50) < 1e-9)
        #expect(workload.queues[0].cpus == [0])
    }

    @Test func replanOnlyBeyondTheHysteresisBand() {
        let policy = ReplanPolicy(hysteresis: 0.1)
        let target = LatencyTarget(kind: .mean, seconds: 0.01)
        let base = Workload(queues: [WorkQueue(name: "q", arrivalRate: 100, meanWork: 0.002, target: target)])
        var small = base; small.queues[0].arrivalRate = 108
        var large = base; large.queues[0].arrivalRate = 115
        #expect(policy.shouldReplan(planned: nil, current: base))
        #expect(!policy.shouldReplan(planned: base, current: small))
        #expect(policy.shouldReplan(planned: base, current: large))
        var retargeted = base; retargeted.queues[0].target.seconds = 0.02
        #expect(policy.shouldReplan(planned: base, current: retargeted))
    }

    /// At low rates the band widens to 3 standard deviations of the EWMA of a Poisson count.
    @Test func bandWidensWithPoissonNoiseAtLowRates() {
        let policy = ReplanPolicy(hysteresis: 0.1, smoothingHalfLife: 10)
        // 10/s, H = 10 s: 3 / sqrt(2 × 10 × 10 / ln 2) = 0.1766.
        #expect(abs(policy.band(rate: 10) - 3 / (200 / 0.6931471805599453).squareRoot()) < 1e-12)
        #expect(policy.band(rate: 1000) == 0.1)
        let target = LatencyTarget(kind: .mean, seconds: 0.05)
        let slow = Workload(queues: [WorkQueue(name: "q", arrivalRate: 10, meanWork: 0.002, target: target)])
        var noisy = slow; noisy.queues[0].arrivalRate = 11.5
        var real = slow; real.queues[0].arrivalRate = 12
        #expect(!policy.shouldReplan(planned: slow, current: noisy))
        #expect(policy.shouldReplan(planned: slow, current: real))
        #expect(ReplanPolicy(hysteresis: 0.1).shouldReplan(planned: slow, current: noisy))
    }

    /// Up fast: near saturation a rise well inside the load band, but beyond estimate noise,
    /// would spend the plan's headroom, so it re-plans; the same rise at a noisy low rate does not.
    @Test func replansWhenARiseInsideTheBandWouldSpendTheHeadroom() {
        let platform = Platform(domains: [FrequencyDomain(
            name: "policy0", cpus: [0], capacity: 1024, idlePower: Watts(0.1),
            operatingPoints: FrequencyDomain.operatingPoints(
                frequencies: [1_000_000, 2_000_000].map(Kilohertz.init),
                power: ParametricPower(staticWatts: 0.2, dynamicWatts: 2)))])
        let target = LatencyTarget(kind: .mean, seconds: 0.010)
        func workload(rate: Double, work: Double) -> Workload {
            Workload(queues: [WorkQueue(name: "q", arrivalRate: rate, meanWork: work, target: target)])
        }
        let policy = ReplanPolicy(hysteresis: 0.1, smoothingHalfLife: 10)
        for (rate, work, shouldReplan) in [(800.0, 0.001, true), (8.0, 0.005, false)] {
            let planned = workload(rate: rate, work: work)
            var shortened = planned
            shortened.queues[0].target.seconds *= 0.97
            var plan = Planner().plan(platform: platform, workload: shortened)
            plan.queues[0].target = target
            #expect(plan.feasible)
            let risen = workload(rate: rate * 1.04, work: work)
            #expect(!policy.shouldReplan(planned: planned, current: risen), "inside the load band")
            #expect(policy.shouldReplan(planned: planned, current: risen, plan: plan, platform: platform,
                                        configuration: .init(), headroom: 0.03) == shouldReplan, "rate \(rate)")
            // The plan holds for the estimates it was made for.
            #expect(!policy.shouldReplan(planned: planned, current: planned, plan: plan, platform: platform,
                                         configuration: .init(), headroom: 0.03))
        }
    }

    /// Plans are made for the estimate plus one standard deviation of its noise; configured
    /// (not estimated) queues are planned as written.
    @Test func plansForTheEstimatePlusItsNoise() {
        let policy = ReplanPolicy(hysteresis: 0.1, smoothingHalfLife: 10)
        let target = LatencyTarget(kind: .mean, seconds: 0.1)
        let estimate = Workload(queues: [
            WorkQueue(name: "live", arrivalRate: 20, meanWork: 0.01, scv: 4, target: target),
            WorkQueue(name: "static", arrivalRate: 20, meanWork: 0.01, target: target),
        ])
        let planned = policy.plannable(estimate, exact: ["static"])
        let sigma = 1 / (2 * 20 * 10 / 0.6931471805599453).squareRoot()  // 4.2 %
        #expect(abs(planned.queues[0].arrivalRate - 20 * (1 + sigma)) < 1e-12)
        #expect(abs(planned.queues[0].meanWork - 0.01 * (1 + 2 * sigma)) < 1e-15)
        #expect(planned.queues[1] == estimate.queues[1])
    }
}
