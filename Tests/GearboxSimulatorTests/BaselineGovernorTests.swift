import GearboxCore
import GearboxSimulator
import Testing

/// The baseline governors on deterministic load, where their fixed points follow from the
/// kernel's rules by hand.
@Suite struct BaselineGovernorTests {
    /// One CPU, a request every ms with `work` ms of reference work: load `work` at fmax.
    static func run(_ policy: GovernorPolicy, work: Double, points: [Int]) -> SimulationResult {
        let platform = TestPlatforms.identical(
            cpus: 1, points: points.map { ($0, Double($0) / 1_000_000) })
        let trace = ArrivalTrace(arrivals: (0..<4000).map {
            TraceArrival(time: Double($0) * 0.001, work: work / 1000)
        })
        let workload = Workload(queues: [
            WorkQueue(name: "q", arrivalRate: 1000, meanWork: work / 1000,
                      target: LatencyTarget(kind: .mean, seconds: 0.01))
        ])
        var configuration = SimulationConfiguration()
        configuration.warmUp = 1
        configuration.duration = 2.5
        return Simulator(platform: platform, workload: workload, configuration: configuration,
                         traces: ["q": trace]).run(policy: policy)
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a / b - 1) < 1e-9 }

    @Test func performanceAndPowersaveHoldTheirEnds() {
        let points = [500_000, 750_000, 1_000_000]
        #expect(Self.close(Self.run(.performance, work: 0.3, points: points).domains[0].meanBusyKilohertz, 1_000_000))
        #expect(Self.close(Self.run(.powersave, work: 0.3, points: points).domains[0].meanBusyKilohertz, 500_000))
    }

    /// Load 0.3 at 1 GHz: ondemand asks 0.5 + 0.3·0.5 = 0.65 → 0.75 GHz; there the load is
    /// 0.4 → 0.7 → 0.75 GHz again: the fixed point.
    @Test func ondemandSettlesOnTheRoundedUpProportionalFrequency() {
        let r = Self.run(.ondemand, work: 0.3, points: [500_000, 750_000, 1_000_000])
        #expect(Self.close(r.domains[0].meanBusyKilohertz, 750_000))
        #expect(r.domains[0].switches == 0)
        // Above 80 % load it jumps to the top.
        let busy = Self.run(.ondemand, work: 0.85, points: [500_000, 750_000, 1_000_000])
        #expect(Self.close(busy.domains[0].meanBusyKilohertz, 1_000_000))
    }

    /// Load 0.12 at the top: conservative steps down by 5 % of fmax each period while the
    /// load stays under 20 %, and 0.5 GHz (load 0.24) is where it stops.
    @Test func conservativeStepsDownToWhereLoadExceedsTheLowThreshold() {
        let r = Self.run(.conservative, work: 0.12, points: [500_000, 750_000, 1_000_000])
        #expect(Self.close(r.domains[0].meanBusyKilohertz, 500_000))
        let busy = Self.run(.conservative, work: 0.9, points: [500_000, 750_000, 1_000_000])
        #expect(Self.close(busy.domains[0].meanBusyKilohertz, 1_000_000))
    }

    /// Frequency-invariant util 0.3: schedutil asks 1.25 · 0.3 · fmax = 375 MHz, rounded up
    /// to 400 MHz.
    @Test func schedutilSettlesOnHeadroomTimesUtil() {
        let points = Array(stride(from: 300_000, through: 1_000_000, by: 100_000))
        let r = Self.run(.schedutil, work: 0.3, points: points)
        #expect(Self.close(r.domains[0].meanBusyKilohertz, 400_000))
        #expect(abs(r.cpus[0].utilization - 0.75) < 1e-6)
    }

    /// Every policy sees the same arrivals under one seed (common random numbers).
    @Test func everyPolicySeesTheSameArrivals() {
        var configuration = SimulationConfiguration()
        configuration.duration = 5
        configuration.warmUp = 1
        let workload = Workload(queues: [
            WorkQueue(name: "web", arrivalRate: 300, meanWork: 0.001,
                      target: LatencyTarget(kind: .p99, seconds: 0.02)),
            WorkQueue(name: "fj", arrivalRate: 50, meanWork: 0.002, scv: 2,
                      target: LatencyTarget(kind: .mean, seconds: 0.02),
                      dispatch: .forkJoin(parts: 2, needed: 1)),
        ])
        let simulator = Simulator(platform: TestHosts.bigLittle, workload: workload, configuration: configuration)
        let results = GovernorPolicy.named.map { simulator.run(policy: $0) }
        for r in results {
            #expect(r.queues.map(\.arrived) == results[0].queues.map(\.arrived), "\(r.policy)")
            #expect(r.queues.allSatisfy { $0.completed > 0 })
        }
        #expect(results[0].queues[0].arrived > 1000)
    }

    /// Same seed, same result, bit for bit; another seed, another result.
    @Test(arguments: GovernorPolicy.named)
    func runsAreReproducible(policy: GovernorPolicy) {
        var configuration = SimulationConfiguration()
        configuration.duration = 3
        configuration.warmUp = 1
        let workload = Workload(queues: [
            WorkQueue(name: "web", arrivalRate: 400, meanWork: 0.001, scv: 1.5,
                      target: LatencyTarget(kind: .p95, seconds: 0.01))
        ])
        let simulator = Simulator(platform: TestHosts.bigLittle, workload: workload, configuration: configuration)
        let a = simulator.run(policy: policy), b = simulator.run(policy: policy)
        #expect(a == b)
        var other = simulator
        other.configuration.seed = 2
        #expect(other.run(policy: policy).energyJoules != a.energyJoules)
    }

    /// Baselines dispatch with the planner's split for the true rates, or in proportion to
    /// capacity: each CPU's utilisation at top speed is its share of the work over its speed.
    @Test(arguments: BaselineDispatch.allCases)
    func baselinesDispatchAsConfigured(dispatch: BaselineDispatch) {
        let platform = TestHosts.bigLittle
        let workload = Workload(queues: [
            WorkQueue(name: "web", arrivalRate: 300, meanWork: 0.001,
                      target: LatencyTarget(kind: .mean, seconds: 0.01))
        ])
        var configuration = SimulationConfiguration()
        configuration.duration = 200
        configuration.warmUp = 1
        configuration.baselineDispatch = dispatch
        let result = Simulator(platform: platform, workload: workload, configuration: configuration)
            .run(policy: .performance)
        var shares: [Int: Double] = [:]
        switch dispatch {
        case .plannedSplit:
            shares = Planner().plan(platform: platform, workload: workload).queues[0].split
        case .capacity:
            for d in platform.domains { for c in d.cpus { shares[c] = d.capacity / (2 * 1024 + 2 * 400) } }
        }
        for cpu in result.cpus {
            let domain = platform.domains[platform.domainIndex(ofCPU: cpu.cpu)!]
            let expected = (shares[cpu.cpu] ?? 0) * 300 * 0.001 / domain.speed(at: domain.maxFrequency)
            #expect(abs(cpu.utilization - expected) < 0.01, "CPU \(cpu.cpu): \(cpu.utilization) vs \(expected)")
        }
    }
}
