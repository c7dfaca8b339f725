import GearboxCore
import GearboxSimulator
import Testing

/// The simulator against closed forms of queueing theory, with 95 % confidence intervals
/// from independent replications.
@Suite struct QueueingValidationTests {
    @Test func mm1MeanResponseMatchesClosedForm() {
        let lambda = 600.0, mu = 1000.0  // ρ = 0.6, 1 ms mean work at speed 1
        let workload = Workload(queues: [
            WorkQueue(name: "q", arrivalRate: lambda, meanWork: 1 / mu,
                      target: LatencyTarget(kind: .mean, seconds: 1))
        ])
        let simulator = Simulator(
            platform: TestPlatforms.identical(cpus: 1), workload: workload,
            configuration: .forCustomers(100_000, rate: lambda))
        let means = replicate(10, simulator: simulator, policy: .performance) { $0.queues[0].mean }
        let ci = ConfidenceInterval(means)
        let exact = 1 / (mu - lambda)
        print("M/M/1 ρ=0.6: simulated \(ci) s, exact \(exact) s")
        #expect(ci.contains(exact), "M/M/1 mean \(ci) vs \(exact)")
        #expect(ci.relativeHalfWidth < 0.03, "interval too wide to mean anything: \(ci)")
    }

    /// Two speeds per request (H = 1, L = 0.5, p = 0.3) make exponential work an H2 service
    /// time; Pollaczek–Khinchine gives its mean response.
    @Test(arguments: [1.0, 2.5])
    func perRequestTwoSpeedMatchesPollaczekKhinchine(scv: Double) {
        let platform = TestPlatforms.identical(cpus: 1, points: [(500_000, 0.3), (1_000_000, 1)])
        let lambda = 400.0, w = 0.001, p = 0.3, sH = 1.0, sL = 0.5
        let workload = Workload(queues: [
            WorkQueue(name: "q", arrivalRate: lambda, meanWork: w, scv: scv,
                      target: LatencyTarget(kind: .mean, seconds: 1))
        ])
        var configuration = SimulationConfiguration.forCustomers(100_000, rate: lambda)
        configuration.realisation = .perRequest
        let simulator = Simulator(platform: platform, workload: workload, configuration: configuration)
        let plan = TestPlans.fixed(platform: platform, low: 500_000, high: 1_000_000, pHigh: p,
                                   splits: ["q": [0: 1]])
        let means = replicate(10, simulator: simulator, policy: .fixed(plan)) { $0.queues[0].mean }
        let ci = ConfidenceInterval(means)
        let es = w * (p / sH + (1 - p) / sL)
        let es2 = (1 + scv) * w * w * (p / (sH * sH) + (1 - p) / (sL * sL))
        let exact = ClosedForms.pollaczekKhinchine(classes: [(lambda, es, es2)], of: 0)
        print("M/H2/1 scv=\(scv) ρ=\(lambda * es): simulated \(ci) s, PK \(exact) s")
        #expect(ci.contains(exact), "per-request two-speed mean \(ci) vs PK \(exact)")
        #expect(ci.relativeHalfWidth < 0.03, "interval too wide: \(ci)")
    }

    /// Fork-join n = k = 2 on two identical M/M/1 CPUs: Nelson and Tantawi's exact mean
    /// `(12 − ρ)/8 · 1/(μ − λ)`. Runs grow with ρ so that the interval stays narrow enough
    /// to tell the exact value from the independence approximation `1.5/(μ − λ)`.
    @Test(arguments: [(0.3, 60_000.0), (0.6, 100_000.0), (0.9, 400_000.0)])
    func forkJoinTwoOfTwoMatchesNelsonTantawi(rho: Double, customers: Double) {
        let mu = 1000.0, lambda = rho * mu  // per subtask: 1 ms mean work, half the request's
        let workload = Workload(queues: [
            WorkQueue(name: "fj", arrivalRate: lambda, meanWork: 2 / mu,
                      target: LatencyTarget(kind: .mean, seconds: 1),
                      dispatch: .forkJoin(parts: 2, needed: 2))
        ])
        let simulator = Simulator(
            platform: TestPlatforms.identical(cpus: 2, perCPUDomains: true), workload: workload,
            configuration: .forCustomers(customers, rate: lambda, warmUpShare: 0.1))
        let means = replicate(10, simulator: simulator, policy: .performance) { $0.queues[0].mean }
        let ci = ConfidenceInterval(means)
        let exact = (12 - rho) / 8 / (mu - lambda)
        let independence = 1.5 / (mu - lambda)
        print("fork-join 2-of-2 ρ=\(rho): simulated \(ci) s, Nelson–Tantawi \(exact) s, independence \(independence) s")
        #expect(ci.contains(exact), "fork-join mean \(ci) vs Nelson–Tantawi \(exact)")
        #expect(!ci.contains(independence), "cannot tell exact from approximation: \(ci)")
    }

    /// One CPU, two queues (2 ms work with SCV 1 and 0.5 ms with SCV 1.5, ρ = 0.6): the
    /// whole 95 % interval of each queue's p99 lies within 2 % of the Cramér–Lundberg
    /// response tail (docs/model.md's case).
    @Test func twoQueueP99MatchesCramerLundberg() {
        let classes = [
            ClosedForms.ServiceClass(rate: 200, meanWork: 0.002, scv: 1),
            ClosedForms.ServiceClass(rate: 400, meanWork: 0.0005, scv: 1.5),
        ]
        let workload = Workload(queues: [
            WorkQueue(name: "long", arrivalRate: 200, meanWork: 0.002, scv: 1,
                      target: LatencyTarget(kind: .p99, seconds: 1)),
            WorkQueue(name: "short", arrivalRate: 400, meanWork: 0.0005, scv: 1.5,
                      target: LatencyTarget(kind: .p99, seconds: 1)),
        ])
        let simulator = Simulator(
            platform: TestPlatforms.identical(cpus: 1), workload: workload,
            configuration: .forCustomers(600_000, rate: 600))
        let runs = (1...10).map { seed -> SimulationResult in
            var s = simulator
            s.configuration.seed = UInt64(seed)
            return s.run(policy: .performance)
        }
        for q in 0..<2 {
            let p99s = runs.map { $0.queues[q].p99 }
            let ci = ConfidenceInterval(p99s)
            let predicted = ClosedForms.responseQuantile(classes, of: q, quantile: 0.99)
            print("two-queue p99 \(workload.queues[q].name): simulated \(ci) s, Cramér–Lundberg \(predicted) s")
            #expect(abs(ci.mean - predicted) + ci.halfWidth < 0.02 * predicted,
                    "p99 \(ci) not within 2 % of CL \(predicted)")
        }
    }
}

/// Each run's own 95 % interval (batch means) of its target statistic.
@Suite struct BatchIntervalTests {
    /// Over 20 seeds, the M/M/1 run's batch-means interval contains the exact mean in at
    /// least 16 (nominal 19), and is narrow enough to mean something.
    @Test func batchIntervalsCoverTheExactMean() {
        let lambda = 600.0, mu = 1000.0
        let workload = Workload(queues: [
            WorkQueue(name: "q", arrivalRate: lambda, meanWork: 1 / mu,
                      target: LatencyTarget(kind: .mean, seconds: 1 / (mu - lambda)))
        ])
        let simulator = Simulator(platform: TestPlatforms.identical(cpus: 1), workload: workload,
                                  configuration: .forCustomers(100_000, rate: lambda))
        let runs = (1...20).map { seed -> QueueOutcome in
            var s = simulator
            s.configuration.seed = UInt64(seed)
            return s.run(policy: .performance).queues[0]
        }
        let covered = runs.filter { $0.undecided }.count
        print("batch-means intervals covering the exact M/M/1 mean: \(covered) of 20")
        #expect(covered >= 16)
        #expect(runs.allSatisfy { $0.halfWidth / $0.measured < 0.06 })
    }
}
