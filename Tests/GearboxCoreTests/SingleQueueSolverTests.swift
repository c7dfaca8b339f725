@testable import GearboxCore
import Testing

/// The dedicated solver for parts with one route queue (`SingleQueueSolver`) against the
/// general search (the same planner with the solver off) and the exhaustive oracle.
@Suite struct SingleQueueSolverTests {
    static func planners() -> (dedicated: Planner, general: Planner) {
        // The oracle's objective has no switching price: nor do these plans.
        var configuration = PlannerConfiguration()
        configuration.actuation = .free
        var general = configuration
        general.singleQueueSolver = false
        return (Planner(configuration: configuration), Planner(configuration: general))
    }

    /// Whether the dedicated solver plans some part of the host.
    static func applies(platform: Platform, workload: Workload) -> Bool {
        let model = PlanningModel(platform: platform, workload: workload, configuration: PlannerConfiguration())
        return model.parts().contains { part in
            let merge = part.domains.count > 3
            return SingleQueueSolver(model: model.restricted(to: part, merge: merge).model) != nil
        }
    }

    /// Small random single-queue hosts (`RandomInstances`, the oracle's): the dedicated plan
    /// meets every target, is never more than 0.1 % dearer than the general search, and is
    /// within the oracle's grid of the exhaustive optimum.
    @Test func againstOracleAndGeneralSearch() {
        let (dedicated, general) = Self.planners()
        var compared = 0, cheaper = 0, seed: UInt64 = 1
        var worstAgainstGeneral = 0.0, worstAgainstOracle = 0.0
        while compared < 120 && seed < 5_000 {
            defer { seed += 1 }
            let (platform, workload) = RandomInstances.make(seed: seed)
            guard workload.queues.count == 1, Self.applies(platform: platform, workload: workload) else { continue }
            let oracle = Oracle(platform: platform, workload: workload, splitSteps: 20, pSteps: 10).run()
            if OracleTests.band.contains(oracle.bestTopValue) { continue }
            compared += 1
            let plan = dedicated.plan(platform: platform, workload: workload)
            let reference = general.plan(platform: platform, workload: workload)
            #expect(plan.feasible == oracle.feasible, "seed \(seed): dedicated \(plan.feasible), oracle \(oracle.feasible)")
            guard plan.feasible, reference.feasible else { continue }
            let check = LatencyModel.predict(platform: platform, workload: workload, plan: plan, configuration: dedicated.configuration)
            #expect(check.feasible, "seed \(seed): the dedicated plan misses a target")
            let ratio = plan.power.value / reference.power.value
            worstAgainstGeneral = max(worstAgainstGeneral, ratio)
            if ratio < 1 - 1e-6 { cheaper += 1 }
            #expect(ratio <= 1.001, "seed \(seed): dedicated \(plan.power.value) W, general \(reference.power.value) W")
            if oracle.feasible {
                let againstOracle = plan.power.value / oracle.power
                worstAgainstOracle = max(worstAgainstOracle, againstOracle)
                // The general search's own distance from the oracle (issue 2) is not the solver's to close.
                let generalAgainstOracle = reference.power.value / oracle.power
                #expect(againstOracle <= max(1.01, generalAgainstOracle * 1.001),
                        "seed \(seed): dedicated \(plan.power.value) W, oracle \(oracle.power) W")
                if againstOracle > 1.01 {
                    print("seed \(seed): \(platform.domains.map { ($0.name, $0.cpus, $0.capacity) }) \(workload.queues[0]) oracle \(oracle.best)")
                    print("  dedicated \(plan.domains.map { ($0.low, $0.high, $0.pHigh) }) \(plan.queues[0].split) \(plan.queues[0].predictedLatency)")
                }
            }
        }
        #expect(compared >= 100)
        print("single queue: \(compared) instances, worst against the general search \(worstAgainstGeneral), "
              + "cheaper on \(cheaper), worst against the oracle \(worstAgainstOracle)")
    }

    /// Larger hosts like the benchmark's: a fast and an efficient class of 1–8 domains of 1–4
    /// CPUs under one queue with a mean target (merged classes), at random loads and targets.
    @Test func twoClassesAgainstGeneralSearch() {
        compareTwoClasses(percentile: false, seed: 7)
    }

    /// The same with a p99 target (the plans judged by the exact tail): every dedicated plan
    /// meets it by the exact tail, and none is meaningfully dearer than the general search's.
    @Test func twoClassesPercentileAgainstGeneralSearch() {
        compareTwoClasses(percentile: true, seed: 11)
    }

    func compareTwoClasses(percentile: Bool, seed: UInt64) {
        let (dedicated, general) = Self.planners()
        var random = SeededGenerator(seed: seed)
        func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * random.unit() }
        var compared = 0, cheaper = 0, worst = 0.0
        for _ in 0..<60 {
            let copies = 1 + Int(random.next() % 8), cpus = 1 + Int(random.next() % 4)
            let fastPoints = FrequencyDomain.operatingPoints(
                frequencies: stride(from: 800_000, through: 3_000_000, by: 200_000).map(Kilohertz.init),
                power: ParametricPower(staticWatts: uniform(0.1, 0.4), dynamicWatts: uniform(1.5, 3)))
            let efficientPoints = FrequencyDomain.operatingPoints(
                frequencies: stride(from: 600_000, through: 2_000_000, by: 200_000).map(Kilohertz.init),
                power: ParametricPower(staticWatts: uniform(0.05, 0.15), dynamicWatts: uniform(0.5, 1.2)))
            let capacity = uniform(400, 800)
            let domains = (0..<(2 * copies)).map { d in
                let isFast = d % 2 == 0
                return FrequencyDomain(
                    name: "policy\(cpus * d)", cpus: Array((cpus * d)..<(cpus * d + cpus)), capacity: isFast ? 1024 : capacity,
                    idlePower: Watts(isFast ? 0.05 : 0.02), operatingPoints: isFast ? fastPoints : efficientPoints)
            }
            let platform = Platform(domains: domains)
            let work = [0.0005, 0.002, 0.004][Int(random.next() % 3)]
            let total = Double(copies * cpus) * (1 + capacity / 1024)
            let queue = WorkQueue(name: "q", arrivalRate: uniform(0.1, 0.8) * total / work, meanWork: work,
                                  scv: [0.5, 1, 2][Int(random.next() % 3)],
                                  target: percentile ? LatencyTarget(kind: .p99, seconds: uniform(8, 40) * work)
                                      : LatencyTarget(kind: .mean, seconds: uniform(1.5, 10) * work))
            let workload = Workload(queues: [queue])
            guard Self.applies(platform: platform, workload: workload) else { continue }
            let plan = dedicated.plan(platform: platform, workload: workload)
            let reference = general.plan(platform: platform, workload: workload)
            #expect(plan.feasible || !reference.feasible, "dedicated infeasible where the general search is not")
            guard plan.feasible, reference.feasible else { continue }
            compared += 1
            let check = LatencyModel.predict(platform: platform, workload: workload, plan: plan, configuration: dedicated.configuration)
            #expect(check.feasible, "copies \(copies) cpus \(cpus): the dedicated plan misses its target")
            let ratio = plan.power.value / reference.power.value
            worst = max(worst, ratio)
            if ratio < 1 - 1e-6 { cheaper += 1 }
            #expect(ratio <= (percentile ? 1.01 : 1.001), "copies \(copies) cpus \(cpus): dedicated \(plan.power.value) W, general \(reference.power.value) W")
        }
        #expect(compared >= 30)
        print("two classes (\(percentile ? "p99" : "mean")): \(compared) hosts, worst against the general search \(worst), cheaper on \(cheaper)")
    }
}
