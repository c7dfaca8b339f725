import GearboxCore

/// Server-like hosts for the planner benchmark: domains of 4 CPUs and 4 queues (two with
/// mean targets, two with p99 targets, exponential and gamma work), each queue allowed on a
/// quarter of the domains, so that every queue spans many domains.
enum BenchmarkHost {
    static let shapes: [(name: String, work: Double, scv: Double, target: LatencyTarget)] = [
        ("web", 0.002, 1, LatencyTarget(kind: .mean, seconds: 0.010)),
        ("rpc", 0.0005, 1.5, LatencyTarget(kind: .p99, seconds: 0.015)),
        ("batch", 0.004, 0.5, LatencyTarget(kind: .mean, seconds: 0.040)),
        ("cache", 0.0002, 1, LatencyTarget(kind: .p99, seconds: 0.005)),
    ]

    /// One frequency domain of `cpus` identical CPUs, the four queues each on a quarter of them.
    static func oneDomain(cpus count: Int) -> (Platform, Workload) {
        let (platform, _) = make(domains: 1, hybrid: false)
        var domain = platform.domains[0]
        domain.cpus = Array(0..<count)
        let quarter = count / 4
        let queues = shapes.enumerated().map { k, shape in
            WorkQueue(name: shape.name, arrivalRate: 0.45 * Double(quarter) / shape.work, meanWork: shape.work, scv: shape.scv,
                      target: shape.target, cpus: Array((k * quarter)..<((k + 1) * quarter)))
        }
        return (Platform(domains: [domain]), Workload(queues: queues))
    }

    /// `make(domains:hybrid:)` with `count` queues instead of four: queue `k` has shape
    /// `k % 4`, its own rate (0.5 to 1.5 times the mean of its shape) and the CPUs of that
    /// shape (a host serving many tenants of four services).
    static func manyQueues(domains: Int, queues count: Int) -> (Platform, Workload) {
        let (platform, base) = make(domains: domains, hybrid: false)
        let perShape = Double((count + 3) / 4)
        let queues = (0..<count).map { k in
            var queue = base.queues[k % 4]
            queue.name = "\(queue.name)\(k / 4)"
            queue.arrivalRate *= (0.5 + Double(k / 4) / max(1, perShape - 1)) / perShape
            return queue
        }
        return (platform, Workload(queues: queues))
    }

    /// `hybrid`: domains alternate between a fast and an efficient type (else all fast).
    static func make(domains count: Int, hybrid: Bool) -> (Platform, Workload) {
        let fast = FrequencyDomain.operatingPoints(
            frequencies: stride(from: 800_000, through: 3_000_000, by: 200_000).map(Kilohertz.init),
            power: ParametricPower(staticWatts: 0.3, dynamicWatts: 2.7))
        let efficient = FrequencyDomain.operatingPoints(
            frequencies: stride(from: 600_000, through: 2_000_000, by: 200_000).map(Kilohertz.init),
            power: ParametricPower(staticWatts: 0.1, dynamicWatts: 0.8))
        let domains = (0..<count).map { d in
            let isFast = !hybrid || d % 2 == 0
            return FrequencyDomain(
                name: "policy\(4 * d)", cpus: Array((4 * d)..<(4 * d + 4)), capacity: isFast ? 1024 : 600,
                idlePower: Watts(isFast ? 0.05 : 0.02), operatingPoints: isFast ? fast : efficient,
                transitionLatencyMicroseconds: 50)
        }
        let platform = Platform(domains: domains)
        let quarter = max(1, count / 4)
        // Capacity of a quarter of the host at top speed, in ref-s of work per second.
        let capacity = Double(quarter) * 4 * (hybrid ? (1 + 600.0 / 1024) / 2 : 1)
        let queues = shapes.enumerated().map { k, shape in
            WorkQueue(name: shape.name, arrivalRate: 0.45 * capacity / shape.work, meanWork: shape.work, scv: shape.scv,
                      target: shape.target, cpus: Array((4 * k * quarter)..<(4 * (k + 1) * quarter)))
        }
        return (platform, Workload(queues: queues))
    }
}
