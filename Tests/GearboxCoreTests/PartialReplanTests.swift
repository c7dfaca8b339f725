import Testing
@testable import GearboxCore

/// Re-planning with `PartPlanCache`: the parts whose inputs are as they were come from the
/// cache, the others are searched, and the host-wide steps run on the whole. The oracle is
/// the whole-host re-plan by a planner without a cache: the two plans must be the same.
@Suite struct PartialReplanTests {
    /// A host of 2–4 parts (1–2 domains of 1–2 CPUs each, 1–2 route queues on them, mean or
    /// p99 targets), loads from light to beyond what the part can serve.
    static func host(seed: UInt64) -> (Platform, Workload) {
        var random = SeededGenerator(seed: seed)
        func pick<T>(_ options: [T]) -> T { options[Int(random.next() % UInt64(options.count))] }
        func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * random.unit() }
        var domains: [FrequencyDomain] = []
        var queues: [WorkQueue] = []
        var nextCPU = 0
        for part in 0..<pick([2, 3, 4]) {
            var partCPUs: [[Int]] = []
            for d in 0..<pick([1, 1, 2]) {
                let cpus = Array(nextCPU..<(nextCPU + pick([1, 2])))
                nextCPU += cpus.count
                partCPUs.append(cpus)
                let capacity = pick([1024.0, 640.0])
                let frequencies = pick([[1_000_000, 1_600_000, 2_200_000], [800_000, 1_400_000], [1_200_000, 1_800_000, 2_300_000]])
                let power = ParametricPower(staticWatts: uniform(0.05, 0.3) * capacity / 1024,
                                            dynamicWatts: uniform(0.5, 2.5) * capacity / 1024, exponent: pick([2.0, 3.0]))
                domains.append(FrequencyDomain(
                    name: "p\(part)d\(d)", cpus: cpus, capacity: capacity, idlePower: Watts(uniform(0.05, 0.2)),
                    operatingPoints: FrequencyDomain.operatingPoints(frequencies: frequencies.map(Kilohertz.init), power: power),
                    transitionLatencyMicroseconds: pick([nil, 10.0, 500.0])))
            }
            for q in 0..<pick([1, 1, 2]) {
                let cpus = random.unit() < 0.6 ? partCPUs.flatMap { $0 } : pick(partCPUs)
                let work = pick([0.001, 0.002, 0.004])
                let kind = pick([LatencyKind.mean, .p99])
                let rate = uniform(0.1, 1.1) * Double(cpus.count) / work / 2
                var queue = WorkQueue(
                    name: "p\(part)q\(q)", arrivalRate: rate, meanWork: work, scv: pick([1.0, 0.5, 2.0]),
                    target: LatencyTarget(kind: kind, seconds: (kind == .mean ? uniform(2, 8) : uniform(6, 25)) * work),
                    cpus: cpus)
                queue.priority = pick([0, 1])
                queues.append(queue)
            }
        }
        return (Platform(domains: domains), Workload(queues: queues))
    }

    @Test func aPartialReplanIsTheWholeHostReplan() {
        var searched = 0, reused = 0, comparedKeepingDomains = 0
        for seed in UInt64(1)...40 {
            var random = SeededGenerator(seed: seed &* 7919)
            var (platform, first) = Self.host(seed: seed)
            // Every other host has mean targets only (no exact-tail rounds).
            if seed % 2 == 0 {
                for q in first.queues.indices where first.queues[q].target.kind == .p99 {
                    first.queues[q].target = LatencyTarget(kind: .mean, seconds: first.queues[q].target.seconds / 3)
                }
            }
            var configuration = PlannerConfiguration()
            configuration.maxSwitchRate = [nil, nil, 0, 150][Int(random.next() % 4)]
            let headroom = random.unit() < 0.5 ? 0 : 0.03
            var cached = Planner(configuration: configuration)
            let cache = PartPlanCache()
            cached.partCache = cache
            let before = cached.plan(platform: platform, workload: first, headroom: headroom)
            // Some queues move (none, some or all of them), the others keep their figures.
            var second = first
            var moved = Set<String>()
            for q in second.queues.indices where random.unit() < 0.4 {
                second.queues[q].arrivalRate *= 0.7 + 0.6 * random.unit()
                if random.unit() < 0.3 { second.queues[q].meanWork *= 1.1 }
                moved.insert(second.queues[q].name)
            }
            cache.age()
            let counts = cache.counts
            let partial = cached.plan(platform: platform, workload: second, headroom: headroom)
            let whole = Planner(configuration: configuration).plan(platform: platform, workload: second, headroom: headroom)
            #expect(partial == whole, "seed \(seed): the partial re-plan differs from the whole-host one")
            reused += cache.counts.hits - counts.hits
            searched += cache.counts.misses - counts.misses
            // Without a host-wide switch budget, mean targets only and every target met, the
            // parts none of whose queues moved keep their domains exactly.
            let meanOnly = first.queues.allSatisfy { $0.target.kind == .mean }
            if configuration.maxSwitchRate == nil, meanOnly, before.feasible, partial.feasible {
                for domain in partial.domains {
                    // The host's parts are the domains and queues named alike ("p1d0", "p1q1").
                    let part = String(domain.name.prefix(2))
                    guard !moved.contains(where: { $0.hasPrefix(part) }) else { continue }
                    #expect(before.domains.first { $0.name == domain.name } == domain, "seed \(seed): \(domain.name)")
                    comparedKeepingDomains += 1
                }
            }
        }
        #expect(reused > 20, "parts taken from the cache: \(reused)")
        #expect(searched > 20, "parts searched again: \(searched)")
        #expect(comparedKeepingDomains >= 3, "domains compared: \(comparedKeepingDomains)")
    }

    /// The cache holds the part plans the current and the last generation used, no more.
    @Test func theCacheForgetsPartsNoPlanUses() {
        let (platform, workload) = Self.host(seed: 3)
        func planner(_ cache: PartPlanCache) -> Planner {
            var planner = Planner()
            planner.partCache = cache
            return planner
        }
        // What one plan searches with an empty cache (a part may be looked up several times
        // in one plan: the searches at two loads, the exact-tail rounds).
        let fresh = PartPlanCache()
        _ = planner(fresh).plan(platform: platform, workload: workload)
        let searched = fresh.counts.misses
        #expect(searched > 0)
        let cache = PartPlanCache()
        _ = planner(cache).plan(platform: platform, workload: workload)
        cache.age()
        var other = workload
        for q in other.queues.indices { other.queues[q].arrivalRate *= 0.9 }
        _ = planner(cache).plan(platform: platform, workload: other)
        cache.age()
        // The plan of the last generation is found whole...
        var counts = cache.counts
        _ = planner(cache).plan(platform: platform, workload: other)
        #expect(cache.counts.misses == counts.misses)
        // ...the one of the generation before, which the last did not use, is gone.
        counts = cache.counts
        _ = planner(cache).plan(platform: platform, workload: workload)
        #expect(cache.counts.misses - counts.misses == searched)
    }
}
