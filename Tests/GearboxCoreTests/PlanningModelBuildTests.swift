@testable import GearboxCore
import Testing

/// How `PlanningModel` is built (`PlanningModel+Building.swift`) and restricted: the shortcuts
/// must give what the plain definitions give.
@Suite struct PlanningModelBuildTests {
    /// `fastestHullPoint` is the hull's top point, also where points tie in speed (a frequency
    /// listed twice), lie above the hull, or cost less at a lower frequency.
    @Test func fastestHullPointIsTheHullsTop() {
        var domains = [
            Fixtures.domain(cpus: [0], points: [(1_000_000, 0.6), (2_000_000, 1.6), (2_000_000, 1.4), (1_500_000, 1.5)]),
            Fixtures.domain(cpus: [0], points: [(500_000, 0.9), (1_000_000, 0.5), (2_000_000, 2.0)]),
            Fixtures.domain(cpus: [0], capacity: 420, points: [(800_000, 0.3)]),
        ]
        for seed: UInt64 in 1...40 { domains += RandomInstances.make(seed: seed).0.domains }
        for domain in domains {
            #expect(domain.fastestHullPoint == domain.hull.highest)
        }
        // The tie at 2 GHz keeps the cheaper power.
        #expect(domains[0].fastestHullPoint.busyPower == Watts(1.4))
    }

    /// CPU numbers become positions in ascending order, whether the numbers are Linux's (a
    /// table by number) or beyond Linux's range (a dictionary): worked out by hand for a
    /// host whose domains list their CPUs out of order.
    @Test func cpuIndicesAreAscendingPositions() {
        for offset in [0, 100_000] {
            let platform = Platform(domains: [
                Fixtures.domain(name: "a", cpus: [offset + 5, offset + 3], points: [(1_000_000, 0.5), (2_000_000, 1.5)]),
                Fixtures.domain(name: "b", cpus: [offset + 9], points: [(1_000_000, 0.5), (2_000_000, 1.5)]),
            ])
            let workload = Workload(queues: [
                WorkQueue(name: "q", arrivalRate: 10, meanWork: 0.01, target: LatencyTarget(kind: .mean, seconds: 0.1),
                          cpus: [offset + 9, offset + 3]),
                WorkQueue(name: "all", arrivalRate: 10, meanWork: 0.01, target: LatencyTarget(kind: .mean, seconds: 0.1)),
                // A CPU the host does not have is left out.
                WorkQueue(name: "stray", arrivalRate: 10, meanWork: 0.01, target: LatencyTarget(kind: .mean, seconds: 0.1),
                          cpus: [offset + 4, offset + 5]),
            ])
            let model = PlanningModel(platform: platform, workload: workload, configuration: PlannerConfiguration())
            #expect(model.cpuNumber == [3, 5, 9].map { $0 + offset })
            #expect(model.domains.map(\.cpus) == [[0, 1], [2]])
            #expect(model.cpuDomain == [0, 0, 1])
            #expect(model.queues.map(\.cpus) == [[0, 2], [0, 1, 2], [1]])
        }
    }

    /// Identical domain tables share one hull; a domain differing in any figure the hull or
    /// the model reads (idle power, capacity, a point's power) gets its own. More distinct
    /// tables than are compared one by one are hashed, with the same result.
    @Test func identicalTablesShareAShape() {
        func domain(_ d: Int, idle: Double = 0.1, capacity: Double = 1024, top: Double = 1.5) -> FrequencyDomain {
            Fixtures.domain(name: "d\(d)", cpus: [d], capacity: capacity, idle: idle,
                            points: [(1_000_000, 0.5), (1_500_000, 0.9), (2_000_000, top)])
        }
        var domains = [domain(0), domain(1, idle: 0.2), domain(2, capacity: 600), domain(3, top: 1.7), domain(4)]
        // Enough further distinct tables to go past the ones compared one by one.
        domains += (5..<12).map { domain($0, top: 1.5 + Double($0) / 10) }
        domains.append(domain(12, top: 1.5 + 11.0 / 10))
        let platform = Platform(domains: domains)
        let workload = Workload(queues: [
            WorkQueue(name: "q", arrivalRate: 10, meanWork: 0.01, target: LatencyTarget(kind: .mean, seconds: 0.1)),
        ])
        let model = PlanningModel(platform: platform, workload: workload, configuration: PlannerConfiguration())
        for (d, original) in domains.enumerated() {
            let built = model.domains[d]
            let hull = original.hull
            #expect(built.name == original.name)
            #expect(built.hull == hull)
            #expect(built.idle == original.idlePower.value)
            #expect(built.times == hull.points.map { 1 / $0.speed })
            #expect(built.energies == hull.points.map { $0.busyPower.value / $0.speed })
            let cheapest = hull.points.min {
                ($0.busyPower.value - original.idlePower.value) / $0.speed < ($1.busyPower.value - original.idlePower.value) / $1.speed
            }!
            #expect(built.cheapest == 1 / cheapest.speed)
            #expect(built.transitionLatency == nil)
        }
        #expect(model.domains[3].hull != model.domains[0].hull)
    }

    /// `distinctSorted` is `Set(values).sorted()`.
    @Test func distinctSortedMatchesASet() {
        var random = SeededGenerator(seed: 7)
        for length in 0..<40 {
            let values = (0..<length).map { _ in Int(random.next() % 12) }
            #expect(PlanningModel.distinctSorted(values) == Set(values).sorted())
        }
    }

    /// `allowedQueues` gives each CPU the list of the part's queues that may use it, in
    /// order, equal lists sharing one position: checked against the lists built one by one.
    @Test func allowedQueuesMatchTheLists() {
        let (platform, workload) = Self.overlappingHost()
        let model = PlanningModel(platform: platform, workload: workload, configuration: PlannerConfiguration())
        for part in model.parts() {
            let (lists, ofCPU) = model.allowedQueues(part)
            var expected = [[Int]](repeating: [], count: model.cpuNumber.count)
            for (local, q) in part.queues.enumerated() {
                for i in model.queues[q].cpus { expected[i].append(local) }
            }
            #expect(ofCPU.map { lists[$0] } == expected)
            #expect(Set(lists).count == lists.count)
        }
    }

    /// Eight domains of four CPUs; queues overlapping on some CPUs, two of one shape.
    static func overlappingHost() -> (Platform, Workload) {
        let domains = (0..<8).map { d in
            Fixtures.domain(name: "d\(d)", cpus: Array((4 * d)..<(4 * d + 4)),
                            points: [(1_000_000, 0.5), (1_500_000, 0.9), (2_000_000, 1.5)])
        }
        let target = LatencyTarget(kind: .mean, seconds: 0.05)
        let queues = [
            WorkQueue(name: "a", arrivalRate: 200, meanWork: 0.005, target: target, cpus: Array(0..<20)),
            WorkQueue(name: "b", arrivalRate: 100, meanWork: 0.002, target: target, cpus: Array(10..<32)),
            WorkQueue(name: "c", arrivalRate: 50, meanWork: 0.002, target: target, cpus: Array(10..<32)),
            WorkQueue(name: "d", arrivalRate: 80, meanWork: 0.004, target: target, cpus: [1, 2, 3, 30, 31]),
        ]
        return (Platform(domains: domains), Workload(queues: queues))
    }
}
