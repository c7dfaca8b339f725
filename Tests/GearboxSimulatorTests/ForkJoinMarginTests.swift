import GearboxCore
import GearboxSimulator
import Testing

/// The planner's fork-join k < n predictions, margin included, against simulation
/// (MODEL.md: the margin must cover the independence approximation's optimism).
@Suite struct ForkJoinMarginTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var k: Int, n: Int, rho: Double, kind: LatencyKind
        /// Whether the planner's margin (25 % when this was written) is known not to cover
        /// the measured latency: for p99 the optimism of 1-of-n grows past 25 % already at
        /// moderate load (measured: 1-of-3 at ρ = 0.6 is 44 % above independence).
        var knownUncovered = false
        var testDescription: String { "\(k)-of-\(n) ρ=\(rho) \(kind.rawValue)" }
    }

    static let cases: [Case] = [
        Case(k: 1, n: 2, rho: 0.3, kind: .mean), Case(k: 1, n: 2, rho: 0.6, kind: .mean),
        Case(k: 2, n: 3, rho: 0.3, kind: .mean), Case(k: 2, n: 3, rho: 0.6, kind: .mean),
        Case(k: 1, n: 3, rho: 0.3, kind: .mean), Case(k: 1, n: 3, rho: 0.6, kind: .mean, knownUncovered: true),
        Case(k: 1, n: 2, rho: 0.3, kind: .p99), Case(k: 1, n: 2, rho: 0.6, kind: .p99, knownUncovered: true),
        Case(k: 2, n: 3, rho: 0.3, kind: .p99), Case(k: 2, n: 3, rho: 0.6, kind: .p99),
        Case(k: 1, n: 3, rho: 0.3, kind: .p99, knownUncovered: true), Case(k: 1, n: 3, rho: 0.6, kind: .p99, knownUncovered: true),
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
        if c.knownUncovered {
            withKnownIssue("the planner's fork-join margin does not cover this case", isIntermittent: true) {
                #expect(measured.mean <= predicted)
            }
        } else {
            #expect(measured.mean <= predicted, "simulated \(measured) above the planner's \(predicted)")
        }
    }
}
