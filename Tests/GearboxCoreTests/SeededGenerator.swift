import GearboxCore

/// SplitMix64: a small, fast, seeded generator so that every random test is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in (0, 1].
    mutating func unit() -> Double { (Double(next() >> 11) + 1) / 9_007_199_254_740_992 }
    /// Exponential with the given mean.
    mutating func exponential(mean: Double) -> Double { -mean * Math.log(unit()) }
}

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
