import GearboxCore
import Testing

/// The latency model against closed forms, hand calculations and simulation (issue 2).
@Suite struct ClosedFormTests {
    /// One CPU at speed 1 (2 GHz, capacity 1024) with another 1 GHz point.
    let oneCPU = Platform(domains: [
        Fixtures.domain(cpus: [0], points: [(1_000_000, 0.5), (2_000_000, 2.0)]),
    ])

    /// The planner's search judges percentiles by Cramér–Lundberg; its plans are checked by
    /// the exact transform inversion (the default).
    static let cramerLundberg: PlannerConfiguration = {
        var c = PlannerConfiguration()
        c.exactPercentileTails = false
        return c
    }()

    func predict(_ platform: Platform, _ workload: Workload, frequencies: [Int], pHigh: [Double]? = nil,
                 lows: [Int]? = nil, splits: [[Int: Double]], configuration: PlannerConfiguration = .init()) -> PlanPrediction {
        let plan = Fixtures.plan(platform: platform, frequencies: frequencies, pHigh: pHigh, lows: lows,
                                 workload: workload, splits: splits)
        return LatencyModel.predict(platform: platform, workload: workload, plan: plan, configuration: configuration)
    }

    /// M/M/1: both tails are exact (`η = μ - λ`, `C = ρ`), so the inversion must agree too.
    @Test(arguments: [100.0, 500.0, 900.0])
    func mm1MeanAndP99(rate: Double) {
        let mu = 1000.0  // 1 ms of work at speed 1
        for configuration in [PlannerConfiguration(), Self.cramerLundberg] {
            for kind in [LatencyKind.mean, .p99] {
                let queue = WorkQueue(name: "q", arrivalRate: rate, meanWork: 0.001,
                                      target: LatencyTarget(kind: kind, seconds: 1))
                let latency = predict(oneCPU, Workload(queues: [queue]), frequencies: [2_000_000], splits: [[0: 1]],
                                      configuration: configuration).queues[0].latency
                let expected = kind == .mean ? 1 / (mu - rate) : Math.log(100) / (mu - rate)
                #expect(abs(latency - expected) <= 1e-8 * expected,
                        "\(kind) at \(rate)/s (exact \(configuration.exactPercentileTails)): \(latency) vs \(expected)")
            }
        }
    }

    @Test func perRequestTwoSpeedMatchesHandPollaczekKhinchine() {
        // Speeds 0.5 (1 GHz) and 1.0 (2 GHz), p = 0.3, λ = 200/s, w = 1 ms, exponential work.
        // E[S]  = 1 ms (0.3 / 1 + 0.7 / 0.5)              = 1.7 ms
        // E[S²] = 2 (1 ms)² (0.3 / 1 + 0.7 / 0.25)          = 6.2e-6 s²
        // ρ = 200 × 1.7e-3 = 0.34; Wq = 200 × 6.2e-6 / (2 × 0.66) = 9.393939…e-4 s
        // T = 1.7e-3 + 9.393939e-4                         = 2.6393939… ms
        let queue = WorkQueue(name: "q", arrivalRate: 200, meanWork: 0.001, target: LatencyTarget(kind: .mean, seconds: 1))
        let prediction = predict(oneCPU, Workload(queues: [queue]), frequencies: [2_000_000], pHigh: [0.3],
                                 lows: [1_000_000], splits: [[0: 1]])
        #expect(abs(prediction.queues[0].latency - 2.639_393_939_393_94e-3) < 1e-15)
        #expect(abs(prediction.cpus[0].utilization - 0.34) < 1e-12)
        // Power: busy energy per ref-s = 0.3 × 2.0 / 1 + 0.7 × 0.5 / 0.5 = 1.3 J; work rate 0.2 ref-s/s
        // → 0.26 W busy, plus idle 0.1 W × (1 - 0.34) = 0.066 W.
        #expect(abs(prediction.power.value - 0.326) < 1e-12)
    }

    @Test func forkJoinTwoOfTwoIdenticalCPUs() {
        // Each CPU gets every request with half the work: M/M/1 with μ = 2000/s per CPU.
        let platform = Platform(domains: [
            Fixtures.domain(cpus: [0, 1], points: [(1_000_000, 0.5), (2_000_000, 2.0)]),
        ])
        for rate in [300.0, 1000.0, 1600.0] {
            let queue = WorkQueue(name: "fj", arrivalRate: rate, meanWork: 0.001,
                                  target: LatencyTarget(kind: .mean, seconds: 1), dispatch: .forkJoin(parts: 2, needed: 2))
            let latency = predict(platform, Workload(queues: [queue]), frequencies: [2_000_000],
                                  splits: [[0: 0.5, 1: 0.5]]).queues[0].latency
            let expected = 1.5 / (2000 - rate)
            #expect(abs(latency - expected) <= 1e-7 * expected, "\(rate): \(latency) vs \(expected)")
        }
    }

    /// rpc: 600/s of 0.5 ms work with SCV 1.5 (gamma shape 2/3): p99 4.10 ms alone.
    let rpc = WorkQueue(name: "rpc", arrivalRate: 600, meanWork: 0.0005, scv: 1.5,
                        target: LatencyTarget(kind: .p99, seconds: 1))

    @Test func trapGuardKeepsTheTailOfTheMix() {
        let alone = predict(oneCPU, Workload(queues: [rpc]), frequencies: [2_000_000], splits: [[0: 1]],
                            configuration: Self.cramerLundberg)
        #expect(abs(alone.queues[0].latency - 4.10e-3) < 0.005e-3)

        // A 1e-9/s trickle of 2 ms work: the unguarded full-mix tail collapses to about the
        // request's own service time (2.84 ms) ...
        let trickle = WorkQueue(name: "trickle", arrivalRate: 1e-9, meanWork: 0.002,
                                target: LatencyTarget(kind: .p99, seconds: 1))
        let classes = [GammaService(rate: 600, work: 0.0005, scv: 1.5, speed: 1),
                       GammaService(rate: 1e-9, work: 0.002, scv: 1, speed: 1)]
        let full = CramerLundberg.solve(classes: classes)!
        let unguarded = WaitingTail(terms: [full], saturated: false)
        let trapped = TailQuantile.solve(level: 0.01, scale: 1e-3) {
            unguarded.responseProbabilityExceeding($0, service: classes[0...0])
        }
        #expect(abs(trapped - 2.84e-3) < 0.01e-3)
        // ... while the guard keeps the rpc-only tail.
        let both = predict(oneCPU, Workload(queues: [rpc, trickle]), frequencies: [2_000_000], splits: [[0: 1], [0: 1]],
                           configuration: Self.cramerLundberg)
        #expect(both.queues[0].latency >= 4.10e-3 * (1 - 1e-4))
        #expect(both.queues[0].latency <= 4.11e-3)
    }

    /// The exact tail has no trap to guard: a trickle changes nothing. (Alone, rpc's exact
    /// p99 is 4.116 ms, 0.4 % above the CL value: gamma service is not exponential.)
    @Test func exactTailIgnoresATrickle() {
        let trickle = WorkQueue(name: "trickle", arrivalRate: 1e-9, meanWork: 0.002,
                                target: LatencyTarget(kind: .p99, seconds: 1))
        let alone = predict(oneCPU, Workload(queues: [rpc]), frequencies: [2_000_000], splits: [[0: 1]])
        let both = predict(oneCPU, Workload(queues: [rpc, trickle]), frequencies: [2_000_000], splits: [[0: 1], [0: 1]])
        #expect(abs(both.queues[0].latency / alone.queues[0].latency - 1) < 1e-6)
        #expect(alone.queues[0].latency > 4.10e-3 && alone.queues[0].latency < 4.13e-3)
    }

    @Test func twoQueueShortP99MatchesSimulation() {
        // 2 ms and 0.5 ms exponential work at ρ = 0.6 (0.3 each): 150/s long, 600/s short.
        let long = WorkQueue(name: "long", arrivalRate: 150, meanWork: 0.002, target: LatencyTarget(kind: .p99, seconds: 1))
        let short = WorkQueue(name: "short", arrivalRate: 600, meanWork: 0.0005, target: LatencyTarget(kind: .p99, seconds: 1))
        let model = predict(oneCPU, Workload(queues: [long, short]), frequencies: [2_000_000],
                            splits: [[0: 1], [0: 1]]).queues[1].latency
        let simulation = LindleySimulation(
            streams: [.init(rate: 150, meanService: 0.002), .init(rate: 600, meanService: 0.0005)], seed: 42)
        let (estimate, spread) = simulation.responseQuantile(0.99, stream: 1, count: 12_000_000, batches: 20)
        #expect(spread < 0.006 * estimate, "simulation too noisy: \(spread) on \(estimate)")
        #expect(abs(model - estimate) <= 0.02 * estimate, "model \(model) vs simulation \(estimate) ± \(spread)")
        print("two-queue short p99: model \(model), simulation \(estimate) ± \(spread)")
        // The exponential shortcut (mean response as an exponential) is a quarter too low.
        let mean = predict(oneCPU, Workload(queues: [long, WorkQueue(name: "short", arrivalRate: 600, meanWork: 0.0005,
                                                                 target: LatencyTarget(kind: .mean, seconds: 1))]),
                           frequencies: [2_000_000], splits: [[0: 1], [0: 1]]).queues[1].latency
        #expect(mean * Math.log(100) < 0.85 * estimate)
    }
}
