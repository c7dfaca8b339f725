import Testing
@testable import GearboxCore

/// The planner judges its plan with the model it rendered the plan with (`LatencyModel.judging`):
/// that must give what a model built afresh for the plan gives, to the last bit.
struct JudgementReuseTests {
    /// Eight domains alternating fast and efficient, a p99 queue and a mean queue on each half:
    /// the p99 queue is searched with a shortened target and judged by the exact tail.
    static func mixedHost() -> (Platform, Workload) {
        let fast = FrequencyDomain.operatingPoints(
            frequencies: stride(from: 800_000, through: 3_000_000, by: 400_000).map(Kilohertz.init),
            power: ParametricPower(staticWatts: 0.3, dynamicWatts: 2.7))
        let efficient = FrequencyDomain.operatingPoints(
            frequencies: stride(from: 600_000, through: 2_000_000, by: 350_000).map(Kilohertz.init),
            power: ParametricPower(staticWatts: 0.1, dynamicWatts: 0.8))
        let domains = (0..<8).map { d in
            FrequencyDomain(name: "policy\(2 * d)", cpus: [2 * d, 2 * d + 1], capacity: d % 2 == 0 ? 1024 : 600,
                            idlePower: Watts(0.03), operatingPoints: d % 2 == 0 ? fast : efficient,
                            transitionLatencyMicroseconds: 50)
        }
        let queues = [
            WorkQueue(name: "rpc", arrivalRate: 1200, meanWork: 0.0005, scv: 1.5,
                      target: LatencyTarget(kind: .p99, seconds: 0.012), cpus: Array(0..<8)),
            WorkQueue(name: "web", arrivalRate: 500, meanWork: 0.002,
                      target: LatencyTarget(kind: .mean, seconds: 0.008), cpus: Array(8..<16)),
        ]
        return (Platform(domains: domains), Workload(queues: queues))
    }

    @Test func theReusedModelJudgesAsAFreshOne() {
        let (platform, workload) = Self.mixedHost()
        let plan = Planner().plan(platform: platform, workload: workload)
        #expect(plan.feasible)
        let fresh = LatencyModel.predict(platform: platform, workload: workload, plan: plan)
        #expect(plan.queues.map(\.predictedLatency) == fresh.queues.map(\.latency))
        #expect(plan.cpus == fresh.cpus)
        #expect(plan.power == fresh.power)
        #expect(plan.feasible == fresh.feasible)
    }

    @Test func aModelJudgesOnlyTheQueuesItWasBuiltFor() {
        let (platform, workload) = Self.mixedHost()
        let plan = Planner().plan(platform: platform, workload: workload)
        let model = LatencyModel(platform: platform, workload: workload, plan: plan)
        var exact = PlannerConfiguration()
        exact.exactPercentileTails = true
        // Other target lengths: the same model, judged against them.
        var shorter = workload
        shorter.queues[0].target.seconds *= 0.5
        let judged = model.judging(shorter, configuration: exact)
        #expect(judged != nil)
        let fresh = LatencyModel.predict(platform: platform, workload: shorter, plan: plan, configuration: exact)
        #expect(judged?.prediction == fresh)
        // Another rate, another kind of target or another switching price: not this model's.
        var busier = workload
        busier.queues[0].arrivalRate *= 1.1
        #expect(model.judging(busier, configuration: exact) == nil)
        var mean = workload
        mean.queues[0].target.kind = .mean
        #expect(model.judging(mean, configuration: exact) == nil)
        var dearer = exact
        dearer.actuation.cpuSecondsPerSwitch *= 2
        #expect(model.judging(workload, configuration: dearer) == nil)
    }
}
