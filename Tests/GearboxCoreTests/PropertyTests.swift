import GearboxCore
import Testing

/// Properties of the planner over seeded random instances (issue 2).
@Suite struct PropertyTests {
    /// Feasible random instances, with a little slack so that neighbours stay feasible.
    static let seeds: [UInt64] = (1...80).map(UInt64.init).filter { seed in
        let (platform, workload) = RandomInstances.make(seed: seed)
        return Planner().plan(platform: platform, workload: workload).feasible
    }.prefix(24).map { $0 }

    func scaled(_ workload: Workload, target: Double = 1, rate: Double = 1) -> Workload {
        Workload(queues: workload.queues.map { queue in
            var queue = queue
            queue.target.seconds *= target
            queue.arrivalRate *= rate
            return queue
        })
    }

    @Test(arguments: seeds)
    func looserTargetNeverRaisesPower(seed: UInt64) {
        let (platform, workload) = RandomInstances.make(seed: seed)
        let tight = Planner().plan(platform: platform, workload: workload)
        let loose = Planner().plan(platform: platform, workload: scaled(workload, target: 1.25))
        #expect(loose.feasible)
        #expect(loose.power.value <= tight.power.value * (1 + 1e-3), "seed \(seed): \(loose.power.value) > \(tight.power.value)")
    }

    @Test(arguments: seeds)
    func higherRateNeverLowersPower(seed: UInt64) throws {
        let (platform, workload) = RandomInstances.make(seed: seed)
        // Busy power above idle power at every point (so more work costs more).
        guard platform.domains.allSatisfy({ domain in domain.operatingPoints.allSatisfy { $0.busyPower > domain.idlePower } }) else {
            try Test.cancel("seed \(seed): some point's busy power is not above idle, so more work need not cost more")
        }
        let base = Planner().plan(platform: platform, workload: workload)
        let busier = Planner().plan(platform: platform, workload: scaled(workload, rate: 1.1))
        guard busier.feasible else { try Test.cancel("seed \(seed): 10 % more work does not fit the host") }
        #expect(busier.power.value >= base.power.value * (1 - 1e-3), "seed \(seed): \(busier.power.value) < \(base.power.value)")
    }

    @Test func plansUseOnlyHullPointsAndPracticalShares() {
        for seed: UInt64 in 1...40 {
            let (platform, workload) = RandomInstances.make(seed: seed)
            let plan = Planner().plan(platform: platform, workload: workload)
            for (domain, domainPlan) in zip(platform.domains, plan.domains) {
                let hull = domain.hull
                #expect(hull.contains(domainPlan.low) && hull.contains(domainPlan.high), "seed \(seed) \(domain.name)")
                // A point above the hull is never planned, even as a pure speed.
                let dominated = domain.operatingPoints.map(\.frequency).filter { !hull.contains($0) }
                #expect(!dominated.contains(domainPlan.low) && !dominated.contains(domainPlan.high))
            }
            for queuePlan in plan.queues {
                #expect(queuePlan.split.values.allSatisfy { $0 == 0 || $0 >= 0.01 - 1e-12 }, "seed \(seed)")
            }
        }
    }

    @Test func sameInputGivesIdenticalPlan() {
        for seed: UInt64 in [3, 14, 46, 84] {
            let (platform, workload) = RandomInstances.make(seed: seed)
            let first = Planner().plan(platform: platform, workload: workload)
            let second = Planner().plan(platform: platform, workload: workload)
            #expect(first == second, "seed \(seed)")
        }
    }
}
