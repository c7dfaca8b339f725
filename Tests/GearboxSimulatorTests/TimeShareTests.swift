import GearboxCore
import GearboxSimulator
import Testing

/// The time-shared realisation of a two-speed mix: speed changes mid-service, transitions,
/// and its latency against the per-request model as τ grows against the service time.
@Suite struct TimeShareTests {
    static let platform = TestPlatforms.identical(cpus: 1, points: [(500_000, 0.3), (1_000_000, 1)])

    /// One request per ms with 1 ms of reference work, dithered between 0.5 and 1 with
    /// θ = 0.5 and a τ far below the service time: every request sees the average speed
    /// 0.75, so a D/D/1 response of 1/0.75 ms, whichever phase it starts in.
    static func deterministicRun(
        period: Double, latency: Double = 0, transition: TransitionModel = .delay
    ) -> SimulationResult {
        let trace = ArrivalTrace(arrivals: (0..<1500).map { TraceArrival(time: Double($0) * 0.002, work: 0.001) })
        let workload = Workload(queues: [
            WorkQueue(name: "q", arrivalRate: 500, meanWork: 0.001,
                      target: LatencyTarget(kind: .mean, seconds: 1))
        ])
        var configuration = SimulationConfiguration()
        configuration.warmUp = 0.1
        configuration.duration = 2.5
        configuration.transitionLatency = latency
        configuration.transition = transition
        let plan = TestPlans.fixed(platform: platform, low: 500_000, high: 1_000_000,
                                   pHigh: 2.0 / 3.0, splits: ["q": [0: 1]], ditherPeriod: period)
        #expect(abs(plan.domains[0].timeShareHigh - 0.5) < 1e-12)
        return Simulator(platform: platform, workload: workload, configuration: configuration,
                         traces: ["q": trace]).run(policy: .fixed(plan))
    }

    @Test func shortPeriodGivesTheAverageSpeed() {
        let r = Self.deterministicRun(period: 0.000_01)
        #expect(abs(r.queues[0].mean / (0.001 / 0.75) - 1) < 0.01, "mean \(r.queues[0].mean)")
        // Two switches per period, measured over 2.5 s.
        #expect(abs(Double(r.domains[0].switches) / (2 * 2.5 / 0.000_01) - 1) < 0.001)
        // The CPU is busy 1/0.75 ms of every 2: half at each speed.
        let busy = (0.001 / 0.75) / 0.002
        let cpuWatts = (r.energyJoules - r.actuationJoules) / r.duration
        #expect(abs(cpuWatts - (busy * (0.5 * 1 + 0.5 * 0.3) + (1 - busy) * 0.1)) < 0.01)
        // Each switch is priced at 10 µs of agent CPU at the top busy power (1 W) plus the
        // transition latency (unknown here: 10 µs) at the higher busy power (1 W) on its one CPU.
        #expect(abs(r.actuationJoules - Double(r.domains[0].switches) * (10e-6 * 1 + 10e-6 * 1)) < 1e-9)
    }

    /// A delayed transition shifts the phases but keeps their lengths; a stalling one
    /// loses one latency of progress per switch: the average speed becomes
    /// `((θτ − ℓ) s_H + ((1 − θ) τ − ℓ) s_L) / τ`.
    @Test func transitionLatencyDelaysOrStalls() {
        let tau = 0.000_1, latency = 0.000_01
        let delayed = Self.deterministicRun(period: tau, latency: latency, transition: .delay)
        #expect(abs(delayed.queues[0].mean / (0.001 / 0.75) - 1) < 0.02)
        let stalled = Self.deterministicRun(period: tau, latency: latency, transition: .stall)
        let speed = ((0.5 * tau - latency) * 1 + (0.5 * tau - latency) * 0.5) / tau
        #expect(abs(stalled.queues[0].mean / (0.001 / speed) - 1) < 0.02,
                "stalled mean \(stalled.queues[0].mean) vs \(0.001 / speed)")
    }

    /// 200 requests a second of 2 ms of work, half of it (p = 0.5) at speed 1 and half at 0.5:
    /// E[S] = 3 ms, ρ = 0.6; with the per-request model's Pollaczek–Khinchine mean.
    static func poissonQueue() -> (lambda: Double, p: Double, meanService: Double, workload: Workload, pk: Double) {
        let lambda = 200.0, w = 0.002, p = 0.5, sH = 1.0, sL = 0.5
        let meanService = w * (p / sH + (1 - p) / sL)
        let workload = Workload(queues: [
            WorkQueue(name: "q", arrivalRate: lambda, meanWork: w,
                      target: LatencyTarget(kind: .mean, seconds: 1))
        ])
        let es2 = 2 * w * w * (p / (sH * sH) + (1 - p) / (sL * sL))
        let pk = ClosedForms.pollaczekKhinchine(classes: [(lambda, meanService, es2)], of: 0)
        return (lambda, p, meanService, workload, pk)
    }

    /// docs/model.md: τ short against service times gives no more mean latency than the
    /// per-request model (Jensen), τ long gives more. Prints the whole curve.
    @Test func latencyAgainstDitherPeriod() {
        let (lambda, p, meanService, workload, pk) = Self.poissonQueue()
        var rows: [(ratio: Double, ci: ConfidenceInterval)] = []
        for ratio in [0.1, 1, 10, 100] {
            var configuration = SimulationConfiguration.forCustomers(60_000, rate: lambda)
            configuration.realisation = .timeShare
            let plan = TestPlans.fixed(platform: Self.platform, low: 500_000, high: 1_000_000, pHigh: p,
                                       splits: ["q": [0: 1]], ditherPeriod: ratio * meanService)
            let simulator = Simulator(platform: Self.platform, workload: workload, configuration: configuration)
            let means = replicate(8, simulator: simulator, policy: .fixed(plan)) { $0.queues[0].mean }
            rows.append((ratio, ConfidenceInterval(means)))
        }
        for row in rows {
            print("time-share τ = \(row.ratio) × E[S]: mean \(row.ci) s, \(100 * (row.ci.mean / pk - 1)) % vs per-request PK \(pk) s")
        }
        #expect(rows[0].ci.mean + rows[0].ci.halfWidth < pk, "short τ should beat per-request")
        #expect(rows[3].ci.mean - rows[3].ci.halfWidth > 1.1 * pk, "long τ should lose clearly")
    }

    /// The agent's dither thread lets switches due close together share one wake-up, so each
    /// edge lands up to a few tenths of τ off the exact schedule (DitherEngine: at most three
    /// times its 10 % slack), with the time at H paid back from the exact schedule. At the
    /// longest τ the planner uses (5 × the mean service time) that must keep the mean latency
    /// under the per-request model's prediction, as exact edges do, and keep the share at H:
    /// the same switches and the same energy.
    @Test func edgesOffTheScheduleKeepTheModelsPromise() {
        let (lambda, p, meanService, workload, pk) = Self.poissonQueue()
        let plan = TestPlans.fixed(platform: Self.platform, low: 500_000, high: 1_000_000, pHigh: p,
                                   splits: ["q": [0: 1]], ditherPeriod: 5 * meanService)
        func run(jitter: Double) -> (mean: ConfidenceInterval, switches: Double, watts: Double) {
            var configuration = SimulationConfiguration.forCustomers(60_000, rate: lambda)
            configuration.realisation = .timeShare
            configuration.ditherEdgeJitter = jitter
            let simulator = Simulator(platform: Self.platform, workload: workload, configuration: configuration)
            var switches: [Double] = [], watts: [Double] = []
            let means = replicate(8, simulator: simulator, policy: .fixed(plan)) { r in
                switches.append(Double(r.domains[0].switches) / r.duration)
                watts.append((r.energyJoules - r.actuationJoules) / r.duration)
                return r.queues[0].mean
            }
            return (ConfidenceInterval(means), switches.reduce(0, +) / 8, watts.reduce(0, +) / 8)
        }
        let exact = run(jitter: 0), jittered = run(jitter: 0.3)
        print("τ = 5 × E[S]: exact edges \(exact.mean) s, edges ±30 % of τ \(jittered.mean) s, per-request PK \(pk) s")
        #expect(exact.mean.mean + exact.mean.halfWidth < pk)
        #expect(jittered.mean.mean + jittered.mean.halfWidth < pk, "jittered \(jittered.mean) vs PK \(pk)")
        // Two switches per period either way, and the same time at each speed.
        let perSecond = 2 / (5 * meanService)
        #expect(abs(exact.switches / perSecond - 1) < 0.01 && abs(jittered.switches / perSecond - 1) < 0.01,
                "\(exact.switches) and \(jittered.switches) switches/s vs \(perSecond)")
        #expect(abs(jittered.watts / exact.watts - 1) < 0.01, "\(jittered.watts) W vs \(exact.watts) W")
    }
}
