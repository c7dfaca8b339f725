import GearboxCore
import GearboxSimulator
import Testing

/// The planner's fork-join k < n predictions, margin included, against simulation
/// (docs/model.md: the margin must cover the independence approximation's optimism).
/// The margin depends on k, n, the target's kind and the load (`ForkJoinMargin`).
@Suite struct ForkJoinMarginTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var k: Int, n: Int, rho: Double, kind: LatencyKind
        var testDescription: String { "\(k)-of-\(n) ρ=\(rho) \(kind.rawValue)" }
    }

    /// Cases where the old flat 25 % margin fell short (1-of-3 mean at ρ = 0.6, every
    /// 1-of-n p99 from ρ = 0.6), tails of wider fan-outs, and light loads.
    static let cases: [Case] = [
        Case(k: 1, n: 2, rho: 0.3, kind: .mean), Case(k: 1, n: 2, rho: 0.6, kind: .mean),
        Case(k: 2, n: 3, rho: 0.3, kind: .mean), Case(k: 2, n: 3, rho: 0.6, kind: .mean),
        Case(k: 1, n: 3, rho: 0.3, kind: .mean), Case(k: 1, n: 3, rho: 0.6, kind: .mean),
        Case(k: 1, n: 2, rho: 0.3, kind: .p99), Case(k: 1, n: 2, rho: 0.6, kind: .p99),
        Case(k: 2, n: 3, rho: 0.3, kind: .p99), Case(k: 2, n: 3, rho: 0.6, kind: .p99),
        Case(k: 1, n: 3, rho: 0.3, kind: .p99), Case(k: 1, n: 3, rho: 0.6, kind: .p99),
        Case(k: 1, n: 4, rho: 0.8, kind: .p95), Case(k: 3, n: 4, rho: 0.8, kind: .p99),
        Case(k: 2, n: 4, rho: 0.1, kind: .p99),
    ]

    @Test(arguments: cases)
    func plannerMarginCoversMeasuredLatency(_ c: Case) {
        let partWork = 0.001, lambda = c.rho / partWork
        let platform = TestPlatforms.identical(cpus: c.n, perCPUDomains: true)
        let workload = Workload(queues: [
            WorkQueue(name: "fj", arrivalRate: lambda, meanWork: partWork * Double(c.k),
                      target: LatencyTarget(kind: c.kind, seconds: 1),
                      dispatch: .forkJoin(parts: c.n, needed: c.k))
        ])
        let plan = Planner().plan(platform: platform, workload: workload)
        var configuration = SimulationConfiguration.forCustomers(80_000, rate: lambda, warmUpShare: 0.1)
        configuration.realisation = .perRequest
        let simulator = Simulator(platform: platform, workload: workload, configuration: configuration)
        let measured = ConfidenceInterval(replicate(5, simulator: simulator, policy: .fixed(plan)) {
            $0.queues[0].measured
        })
        let predicted = plan.queues[0].predictedLatency
        print("fork-join \(c.testDescription): planner \(predicted) s (margin \(plan.queues[0].margin)), simulated \(measured) s, \(100 * (measured.mean / predicted - 1)) %")
        #expect(measured.mean <= predicted, "simulated \(measured) above the planner's \(predicted)")
        // Not wildly conservative either: a margin that covers by wasting energy is no fix.
        #expect(predicted <= 1.35 * measured.mean, "planner's \(predicted) far above simulated \(measured)")
    }
}
