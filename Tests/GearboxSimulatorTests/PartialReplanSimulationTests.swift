import GearboxCore
import GearboxSimulator
import GearboxTestSupport
import Testing

/// gearbox's partial re-plans in simulation: a host of two parts (a queue on each of two
/// domains) where one queue's arrivals step up by half mid-run. gearbox re-plans the parts
/// that moved with the others at their planned figures (`ReplanPolicy.queuesToReplan`,
/// `refreshing`), and must meet both targets; the plan made for the figures before the step,
/// kept, misses the stepped queue's. A re-plan that kept the stepped part at its old figures
/// would miss it too.
@Suite struct PartialReplanSimulationTests {
    static let platform = Platform(domains: ["a", "b"].enumerated().map { d, name in
        FrequencyDomain(
            name: name, cpus: [2 * d, 2 * d + 1], capacity: 1024, idlePower: Watts(0.05),
            operatingPoints: [(1_200_000, 0.9), (1_800_000, 1.8), (2_300_000, 3.0)]
                .map { OperatingPoint(frequency: Kilohertz($0.0), busyPower: Watts($0.1)) })
    })
    static let workload = Workload(queues: [
        WorkQueue(name: "steady", arrivalRate: 300, meanWork: 0.002, target: LatencyTarget(kind: .mean, seconds: 0.010), cpus: [0, 1]),
        WorkQueue(name: "stepped", arrivalRate: 300, meanWork: 0.002, target: LatencyTarget(kind: .mean, seconds: 0.010), cpus: [2, 3]),
    ])

    /// Poisson arrivals with exponential work (mean 2 ms): `before` a second until `step`, then
    /// `after`, up to `end`.
    static func steppedTrace(before: Double, after: Double, step: Double, end: Double, seed: UInt64) -> ArrivalTrace {
        var random = SeededGenerator(seed: seed)
        var arrivals: [TraceArrival] = []
        var t = 0.0
        while t < end {
            t += random.exponential(mean: 1 / (t < step ? before : after))
            arrivals.append(TraceArrival(time: t, work: random.exponential(mean: 0.002)))
        }
        return ArrivalTrace(arrivals: arrivals)
    }

    @Test(arguments: [UInt64(11), 12, 13])
    func aStepInOnePartIsFollowedAndBothTargetsAreMet(seed: UInt64) throws {
        var configuration = SimulationConfiguration()
        configuration.seed = seed
        // Only the estimates may drive re-plans here: latency feedback and burst awareness
        // re-plan the whole host from the estimates too, and would hide a partial re-plan
        // that kept the stepped part at its old figures.
        configuration.gearbox.feedback = nil
        configuration.gearbox.burstAware = false
        configuration.warmUp = 20
        configuration.duration = 160
        let trace = Self.steppedTrace(before: 300, after: 450, step: 50, end: configuration.endTime, seed: seed)
        let simulator = Simulator(platform: Self.platform, workload: Self.workload, configuration: configuration,
                                  traces: ["stepped": trace])
        let before = Planner(configuration: configuration.planner).plan(platform: Self.platform, workload: Self.workload)
        try #require(before.feasible)
        let kept = simulator.run(policy: .fixed(before))
        let gearbox = simulator.run(policy: .gearbox)
        for queue in gearbox.queues {
            print("\(queue.name): gearbox \(queue.measured * 1000) ± \(queue.halfWidth * 1000) ms, kept plan \(kept.queues.first { $0.name == queue.name }!.measured * 1000) ms")
        }
        print("seed \(seed): \(gearbox.plans) plans")
        // The step matters: the plan for the figures before it misses the stepped queue's target.
        let keptStepped = try #require(kept.queues.first { $0.name == "stepped" })
        #expect(keptStepped.measured > keptStepped.target.seconds + keptStepped.halfWidth)
        // gearbox follows it and meets both targets.
        #expect(gearbox.plans > 1)
        for queue in gearbox.queues { #expect(queue.measured <= queue.target.seconds + queue.halfWidth, "\(queue.name)") }
    }
}
