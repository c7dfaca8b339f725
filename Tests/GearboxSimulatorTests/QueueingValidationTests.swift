import GearboxCore
import GearboxSimulator
import Testing

/// The simulator against closed forms of queueing theory, with confidence intervals from
/// independent replications.
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
        #expect(ci.contains(exact), "M/M/1 mean \(ci) vs \(exact)")
        #expect(ci.relativeHalfWidth < 0.03, "interval too wide to mean anything: \(ci)")
    }
}
