import GearboxCore
// The seeded generator and the rest of the tests' shared support, for every file of this target.
@_exported import GearboxTestSupport

/// Small platforms and plans for tests.
enum Fixtures {
    /// One domain whose CPUs run at the given speeds (capacity 1024, so speed = f / fmax).
    static func domain(
        name: String = "d0", cpus: [Int], capacity: Double = 1024, idle: Double = 0.1,
        points: [(khz: Int, watts: Double)]
    ) -> FrequencyDomain {
        FrequencyDomain(
            name: name, cpus: cpus, capacity: capacity, idlePower: Watts(idle),
            operatingPoints: points.map { OperatingPoint(frequency: Kilohertz($0.khz), busyPower: Watts($0.watts)) })
    }

    /// A plan running every domain at one frequency with the given splits.
    static func plan(platform: Platform, frequencies: [Int], pHigh: [Double]? = nil, lows: [Int]? = nil,
                     workload: Workload, splits: [[Int: Double]]) -> Plan {
        let domains = platform.domains.enumerated().map { d, domain in
            DomainPlan(name: domain.name, cpus: domain.cpus, low: Kilohertz(lows?[d] ?? frequencies[d]),
                       high: Kilohertz(frequencies[d]), pHigh: pHigh?[d] ?? 1, timeShareHigh: 1)
        }
        let queues = workload.queues.enumerated().map { q, queue in
            QueuePlan(name: queue.name, target: queue.target, predictedLatency: 0, split: splits[q])
        }
        return Plan(feasible: true, power: .zero, domains: domains, queues: queues, cpus: [])
    }
}
