import GearboxCore

/// Seeded random small instances for the oracle comparison (issue 2): 1–3 domains of 1–4
/// CPUs, 1–2 route queues on whole domains, mean or p99 targets.
enum RandomInstances {
    static func make(seed: UInt64) -> (Platform, Workload) {
        var random = SeededGenerator(seed: seed)
        func pick<T>(_ options: [T]) -> T { options[Int(random.next() % UInt64(options.count))] }
        func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * random.unit() }

        var domains: [FrequencyDomain] = []
        var nextCPU = 0
        for d in 0..<pick([1, 2, 2, 3]) {
            let count = pick([1, 2, 3, 4])
            let capacity = d == 0 ? 1024.0 : pick([1024.0, 640.0, 420.0])
            var frequencies = Set<Int>()
            let points = pick([2, 3, 4, 5])
            while frequencies.count < points { frequencies.insert(pick(Array(stride(from: 400_000, through: 2_400_000, by: 200_000)))) }
            let scale = capacity / 1024
            let power = ParametricPower(staticWatts: uniform(0.05, 0.3) * scale, dynamicWatts: uniform(0.5, 2.5) * scale,
                                        exponent: pick([2.0, 3.0]))
            let clean = FrequencyDomain.operatingPoints(frequencies: frequencies.sorted().map(Kilohertz.init), power: power)
            // Noise makes some points dominated.
            let noisy = clean.map { OperatingPoint(frequency: $0.frequency, busyPower: Watts($0.busyPower.value * uniform(0.9, 1.15))) }
            let idle = uniform(0.1, 0.8) * noisy.map(\.busyPower.value).min()!
            domains.append(FrequencyDomain(name: "d\(d)", cpus: Array(nextCPU..<(nextCPU + count)), capacity: capacity,
                                           idlePower: Watts(idle), operatingPoints: noisy))
            nextCPU += count
        }
        let platform = Platform(domains: domains)
        let queueCount = pick([1, 1, 2])
        var queues: [WorkQueue] = []
        for q in 0..<queueCount {
            var chosen = domains.indices.filter { _ in random.unit() < 0.5 }
            if chosen.isEmpty || random.unit() < 0.5 { chosen = Array(domains.indices) }
            let cpus = chosen.flatMap { domains[$0].cpus }
            let capacity = chosen.reduce(0.0) { $0 + Double(domains[$1].cpus.count) * domains[$1].hull.highest.speed }
            let work = pick([0.0005, 0.001, 0.002, 0.004])
            let rate = uniform(0.05, 0.85) * capacity / work / Double(queueCount)
            let fastest = chosen.map { domains[$0].hull.highest.speed }.max()!
            let kind = pick([LatencyKind.mean, .p99])
            let factor = kind == .mean ? uniform(1.2, 8) : uniform(4, 25)
            queues.append(WorkQueue(
                name: "q\(q)", arrivalRate: rate, meanWork: work, scv: pick([1.0, 1.0, 1.0, 0.5, 2.0]),
                target: LatencyTarget(kind: kind, seconds: factor * work / fastest),
                cpus: chosen.count == domains.count ? nil : cpus))
        }
        return (platform, Workload(queues: queues))
    }
}
