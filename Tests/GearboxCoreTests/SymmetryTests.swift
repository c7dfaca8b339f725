import GearboxCore
import Testing

/// CPU classes and queues of one shape (`PlanningModel.restricted`) against the exhaustive
/// oracle and against the planner searching every CPU on its own, on small random hosts
/// whose big domain is shared by two queues (so it is planned as classes).
@Suite struct SymmetryTests {
    /// A domain of 10 to 16 CPUs (and sometimes a 2-CPU one), two route queues on every CPU;
    /// the second workload is the first with queue 0 cut into copies of its shape.
    static func instance(seed: UInt64) -> (Platform, Workload, copies: Workload) {
        var random = SeededGenerator(seed: seed)
        func pick<T>(_ options: [T]) -> T { options[Int(random.next() % UInt64(options.count))] }
        func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * random.unit() }
        var domains: [FrequencyDomain] = []
        var next = 0
        let counts = [pick([10, 12, 16])] + (random.unit() < 0.5 ? [2] : [])
        for (d, count) in counts.enumerated() {
            let capacity = d == 0 ? 1024.0 : 600
            let power = ParametricPower(staticWatts: uniform(0.05, 0.3) * capacity / 1024,
                                        dynamicWatts: uniform(0.5, 2.5) * capacity / 1024, exponent: pick([2.0, 3.0]))
            let frequencies = stride(from: 800_000, through: 2_400_000, by: pick([400_000, 800_000])).map(Kilohertz.init)
            let points = FrequencyDomain.operatingPoints(frequencies: frequencies, power: power)
            domains.append(FrequencyDomain(name: "d\(d)", cpus: Array(next..<(next + count)), capacity: capacity,
                                           idlePower: Watts(uniform(0.1, 0.5) * points[0].busyPower.value), operatingPoints: points))
            next += count
        }
        let platform = Platform(domains: domains)
        let capacity = domains.reduce(0.0) { $0 + Double($1.cpus.count) * $1.hull.highest.speed }
        let queues = (0..<2).map { q in
            let work = pick([0.0005, 0.001, 0.002, 0.004])
            let kind = pick([LatencyKind.mean, .p99])
            let factor = kind == .mean ? uniform(1.5, 8) : uniform(5, 25)
            return WorkQueue(name: "q\(q)", arrivalRate: uniform(0.1, 0.4) * capacity / work, meanWork: work,
                             scv: pick([1.0, 0.5, 2.0]), target: LatencyTarget(kind: kind, seconds: factor * work))
        }
        var copies = queues
        let cut = uniform(0.2, 0.8)
        copies[0].arrivalRate *= cut
        var second = queues[0]
        second.name = "q0copy"
        second.arrivalRate *= 1 - cut
        copies.append(second)
        return (platform, Workload(queues: queues), Workload(queues: copies))
    }

    @Test func classesStayCloseToTheOracleAndTheFullSearch() {
        var accepted = 0, seed: UInt64 = 1
        var gaps: [(oracle: Double, full: Double, seed: UInt64)] = []
        var missed: [UInt64] = []
        let clock = ContinuousClock()
        var classTime = Duration.zero, fullTime = Duration.zero
        var everyCPU = PlannerConfiguration()
        everyCPU.cpuClassLimit = .max
        while accepted < 16 {
            defer { seed += 1 }
            let (platform, workload, copies) = Self.instance(seed: seed)
            let oracle = Oracle(platform: platform, workload: workload, splitSteps: 10, pSteps: 10).run()
            if OracleTests.band.contains(oracle.bestTopValue) { continue }
            accepted += 1
            let t0 = clock.now
            let classes = Planner().plan(platform: platform, workload: copies)
            let t1 = clock.now
            let full = Planner(configuration: everyCPU).plan(platform: platform, workload: workload)
            fullTime += clock.now - t1
            classTime += t1 - t0
            // Near the host's limit the classes may miss a feasible split that needs an odd
            // number of CPUs for one queue (seen once in these 16); they never claim one falsely.
            if classes.feasible != oracle.feasible { missed.append(seed) }
            #expect(!classes.feasible || oracle.feasible, "seed \(seed): classes feasible, oracle not")
            guard oracle.feasible, classes.feasible, full.feasible else { continue }
            #expect(LatencyModel.predict(platform: platform, workload: copies, plan: classes).feasible, "seed \(seed)")
            // Copies of one shape get one split.
            #expect(classes.queues[0].split == classes.queues[2].split, "seed \(seed)")
            gaps.append((classes.power.value / oracle.power, classes.power.value / full.power.value, seed))
            // The oracle keeps two queues apart only on prefix partitions of whole CPUs; the
            // classes may do better or a little worse.
            #expect(classes.power.value <= 1.05 * oracle.power, "seed \(seed): classes \(classes.power.value) W, oracle \(oracle.power) W")
            #expect(classes.power.value <= 1.05 * full.power.value, "seed \(seed): classes \(classes.power.value) W, full \(full.power.value) W")
        }
        #expect(gaps.count >= 8)
        #expect(missed.count <= 1, "classes found no plan where the oracle did: seeds \(missed)")
        let worstOracle = gaps.map(\.oracle).max() ?? 0, worstFull = gaps.map(\.full).max() ?? 0
        let meanFull = gaps.map(\.full).reduce(0, +) / Double(max(1, gaps.count))
        #expect(meanFull <= 1.01)
        print("symmetry: \(gaps.count) feasible of \(accepted), missed \(missed); classes / oracle worst \(worstOracle); classes / full search worst \(worstFull), mean \(meanFull); time classes \(classTime), full \(fullTime)")
    }
}
