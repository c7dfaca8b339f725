import GearboxCore
import GearboxSimulator
import Testing

/// Simulated energy against docs/model.md's power formula for a fixed two-speed plan.
@Suite struct EnergyValidationTests {
    static let workload = Workload(queues: [
        WorkQueue(name: "web", arrivalRate: 500, meanWork: 0.001,
                  target: LatencyTarget(kind: .mean, seconds: 1)),
        WorkQueue(name: "batch", arrivalRate: 100, meanWork: 0.003, scv: 2,
                  target: LatencyTarget(kind: .mean, seconds: 1)),
    ])
    static let plan = TestPlans.mixed(
        platform: TestHosts.bigLittle,
        speeds: ["big": (1_200_000, 1_800_000, 0.4), "little": (1_000_000, 1_500_000, 0.7)],
        splits: ["web": [0: 0.3, 1: 0.3, 2: 0.2, 3: 0.2], "batch": [0: 0.5, 2: 0.5]],
        ditherPeriod: 0.005)

    /// The whole 95 % interval of the simulated power lies within 2 % of the formula, in
    /// both realisations of the two-speed mix (θ makes time-share's energy per unit of
    /// work equal the per-request model's).
    @Test(arguments: TwoSpeedRealisation.allCases)
    func powerMatchesModelFormula(realisation: TwoSpeedRealisation) {
        var configuration = SimulationConfiguration()
        configuration.duration = 100
        configuration.warmUp = 2
        configuration.realisation = realisation
        let simulator = Simulator(platform: TestHosts.bigLittle, workload: Self.workload,
                                  configuration: configuration)
        // The CPUs' energy: frequency switches are priced on top (`ActuationCost`).
        let powers = replicate(5, simulator: simulator, policy: .fixed(Self.plan)) { ($0.energyJoules - $0.actuationJoules) / $0.duration }
        let ci = ConfidenceInterval(powers)
        let predicted = TestPlans.power(platform: TestHosts.bigLittle, workload: Self.workload, plan: Self.plan)
        print("energy \(realisation.rawValue): simulated \(ci) W, docs/model.md formula \(predicted) W")
        #expect(abs(ci.mean - predicted) + ci.halfWidth < 0.02 * predicted,
                "power \(ci) not within 2 % of \(predicted)")
    }

    /// A deterministic trace at a fixed frequency: energy is exactly busy power for the
    /// busy time plus idle power for the rest.
    @Test func energyIsBusyPlusIdleOnADeterministicTrace() throws {
        let platform = TestPlatforms.identical(cpus: 1, points: [(500_000, 0.4), (1_000_000, 1.5)],
                                               idleWatts: 0.1)
        let trace = ArrivalTrace(arrivals: (0..<3000).map { TraceArrival(time: Double($0) * 0.001, work: 0.0003) })
        let workload = Workload(queues: [
            WorkQueue(name: "q", arrivalRate: 1000, meanWork: 0.0003,
                      target: LatencyTarget(kind: .mean, seconds: 0.001))
        ])
        var configuration = SimulationConfiguration()
        configuration.warmUp = 0.5
        configuration.duration = 2
        let simulator = Simulator(platform: platform, workload: workload, configuration: configuration,
                                  traces: ["q": trace])
        let top = simulator.run(policy: .performance)
        #expect(abs(top.power.value - (0.3 * 1.5 + 0.7 * 0.1)) < 1e-6)
        #expect(abs(top.queues[0].mean - 0.0003) < 1e-9)
        #expect(top.queues[0].completed == 2000)
        let bottom = simulator.run(policy: .powersave)
        #expect(abs(bottom.power.value - (0.6 * 0.4 + 0.4 * 0.1)) < 1e-6)
        #expect(abs(bottom.queues[0].mean - 0.0006) < 1e-9)
        #expect(abs(bottom.queues[0].p99 / 0.0006 - 1) < 0.003)
        #expect(abs(bottom.cpus[0].utilization - 0.6) < 1e-6)
    }
}
