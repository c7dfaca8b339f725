import GearboxCore
import Testing

/// The planner against the exhaustive oracle on seeded random small instances (issue 2).
@Suite struct OracleTests {
    /// Instances whose top-speed feasibility is within this band of the target are skipped:
    /// there the answer depends on grid resolution, not on the planner.
    static let band = 0.9...1.1

    /// Two halves (odd and even seeds) of 100 accepted instances each, run in parallel.
    @Test(arguments: [UInt64(1), 2])
    func plannerMatchesOracle(firstSeed: UInt64) {
        var accepted = 0, feasible = 0, seed = firstSeed
        var worst = 0.0
        var totalEvaluations = 0
        let clock = ContinuousClock()
        var oracleTime = Duration.zero, plannerTime = Duration.zero
        var ratios: [(Double, UInt64)] = []
        while accepted < 100 {
            defer { seed += 2 }
            let (platform, workload) = RandomInstances.make(seed: seed)
            let t0 = clock.now
            let oracle = Oracle(platform: platform, workload: workload, splitSteps: workload.queues.count == 1 ? 20 : 10, pSteps: 10).run()
            totalEvaluations += oracle.evaluations
            oracleTime += clock.now - t0
            if Self.band.contains(oracle.bestTopValue) { continue }
            accepted += 1
            let t1 = clock.now
            // The oracle's objective has no switching price: nor does the planner's here.
            var configuration = PlannerConfiguration()
            configuration.actuation = .free
            let plan = Planner(configuration: configuration).plan(platform: platform, workload: workload)
            plannerTime += clock.now - t1
            #expect(plan.feasible == oracle.feasible, "seed \(seed): planner \(plan.feasible) oracle \(oracle.feasible) top \(oracle.bestTopValue)")
            guard oracle.feasible, plan.feasible else { continue }
            feasible += 1
            let check = LatencyModel.predict(platform: platform, workload: workload, plan: plan, configuration: configuration)
            #expect(check.feasible, "seed \(seed): re-evaluated plan misses a target")
            let ratio = plan.power.value / oracle.power
            worst = max(worst, ratio)
            ratios.append((ratio, seed))
            // The search judges percentiles by Cramér–Lundberg, re-aimed by the exact tail
            // (which the oracle judges every grid point by); where that does not settle at
            // once, small hosts are searched with the exact tail too. One of these 200
            // instances lands 3.2 % above the oracle, the rest within 0.5 %.
            #expect(ratio <= 1.05, "seed \(seed): planner \(plan.power.value) W, oracle \(oracle.power) W")
        }
        #expect(ratios.filter { $0.0 > 1.01 }.count <= 2, "more than 2 of 100 plans over 1 % above the oracle: \(ratios.filter { $0.0 > 1.01 })")
        print("times: oracle \(oracleTime) planner \(plannerTime); highest ratios \(ratios.sorted { $0.0 > $1.0 }.prefix(6))")
        print("oracle: \(accepted) instances, \(feasible) feasible, worst ratio \(worst), evaluations \(totalEvaluations)")
    }
}
