import Testing
@testable import GearboxCore

/// The part-wise re-plan check (`ReplanPolicy.shouldReplan(…baseline:)`) judges only the
/// parts with a queue that rose; its decision must be the whole-host check's, tick by tick.
@Suite struct PartwiseReplanCheckTests {
    /// Six one- or two-CPU domains; a queue per CPU on most, a queue across two domains, and
    /// now and then one with no CPU list (the whole host one part).
    static func host(seed: UInt64) -> (Platform, Workload) {
        var random = SeededGenerator(seed: seed)
        func pick<T>(_ options: [T]) -> T { options[Int(random.next() % UInt64(options.count))] }
        var domains: [FrequencyDomain] = []
        var next = 0
        for d in 0..<6 {
            let cpus = Array(next..<(next + pick([1, 2])))
            next += cpus.count
            domains.append(FrequencyDomain(
                name: "d\(d)", cpus: cpus, capacity: 1024, idlePower: Watts(0.1),
                operatingPoints: FrequencyDomain.operatingPoints(
                    frequencies: [1_200_000, 1_800_000, 2_300_000].map(Kilohertz.init),
                    power: ParametricPower(staticWatts: 0.5, dynamicWatts: 2.5))))
        }
        var queues: [WorkQueue] = []
        for domain in domains.prefix(4) {
            for cpu in domain.cpus {
                let kind = pick([LatencyKind.mean, .mean, .p99])
                queues.append(WorkQueue(
                    name: "cpu\(cpu)", arrivalRate: 100 + 150 * random.unit(), meanWork: 0.002,
                    target: LatencyTarget(kind: kind, seconds: kind == .mean ? 0.006 + 0.01 * random.unit() : 0.03), cpus: [cpu]))
            }
        }
        queues.append(WorkQueue(name: "shared", arrivalRate: 200 + 300 * random.unit(), meanWork: 0.003,
                                target: LatencyTarget(kind: .mean, seconds: 0.012), cpus: domains[4].cpus + domains[5].cpus))
        if random.unit() < 0.2 {
            queues.append(WorkQueue(name: "anywhere", arrivalRate: 20, meanWork: 0.001,
                                    target: LatencyTarget(kind: .mean, seconds: 0.01)))
        }
        return (Platform(domains: domains), Workload(queues: queues))
    }

    @Test func thePartwiseCheckDecidesAsTheWholeHostCheck() {
        var decisions = 0, replans = 0, byLatency = 0, keeps = 0
        for seed in UInt64(1)...16 {
            var random = SeededGenerator(seed: seed &+ 1000)
            let (platform, start) = Self.host(seed: seed)
            let policy = ReplanPolicy(hysteresis: 0.1, smoothingHalfLife: random.unit() < 0.5 ? nil : 10)
            let headroom = [0, 0.03, 0.1][Int(random.next() % 3)]
            let planner = Planner()
            var planned = start
            var plan = planner.plan(platform: platform, workload: planned, headroom: headroom)
            var current = planned
            var baseline: ReplanPolicy.Baseline?
            for _ in 0..<60 {
                // A random walk of the estimates: rates and work up and down, now and then a
                // different SCV (which the part-wise check must count as a rise).
                for q in current.queues.indices {
                    current.queues[q].arrivalRate *= 1 + 0.06 * (random.unit() - 0.5)
                    if random.unit() < 0.1 { current.queues[q].meanWork *= 1 + 0.08 * (random.unit() - 0.5) }
                    if random.unit() < 0.02 { current.queues[q].scv = current.queues[q].scv == 1 ? 1.5 : 1 }
                }
                let whole = policy.shouldReplan(planned: planned, current: current, plan: plan, platform: platform,
                                                configuration: planner.configuration, headroom: headroom)
                let partwise = policy.shouldReplan(planned: planned, current: current, plan: plan, platform: platform,
                                                   configuration: planner.configuration, headroom: headroom, baseline: &baseline)
                #expect(whole == partwise, "seed \(seed)")
                // The same estimates listed in another order: the queues are then found by name.
                var reordered = current
                reordered.queues.reverse()
                let partwiseReordered = policy.shouldReplan(
                    planned: planned, current: reordered, plan: plan, platform: platform,
                    configuration: planner.configuration, headroom: headroom, baseline: &baseline)
                #expect(whole == partwiseReordered, "seed \(seed), queues reordered")
                decisions += 1
                if whole { replans += 1 } else { keeps += 1 }
                if whole && !policy.shouldReplan(planned: planned, current: current) { byLatency += 1 }
                // Re-plan on most decisions to re-plan (the baseline is the caller's to drop).
                if whole && random.unit() < 0.7 {
                    planned = current
                    plan = planner.plan(platform: platform, workload: planned, headroom: headroom)
                    baseline = nil
                }
            }
        }
        #expect(decisions == 16 * 60)
        #expect(keeps > 100 && replans > 50, "keeps \(keeps), re-plans \(replans)")
        #expect(byLatency > 10, "decisions made by the latency judgement alone: \(byLatency)")
    }

    /// Estimates creeping up inside their bands: a part judged clear a step ahead of its
    /// estimates is not judged again until a queue passes that point, where judging every part
    /// with a risen queue would judge each of them on nearly every tick (only the parts near
    /// the threshold still are); the decisions stay the whole-host check's.
    @Test func creepingEstimatesAreNotJudgedEveryTick() {
        var risenParts = 0, judgedParts = 0
        for seed in UInt64(1)...8 {
            let (platform, planned) = Self.host(seed: seed)
            let policy = ReplanPolicy(hysteresis: 0.1)
            let planner = Planner()
            let plan = planner.plan(platform: platform, workload: planned, headroom: 0.1)
            guard plan.feasible else { continue }
            var baseline: ReplanPolicy.Baseline?
            var current = planned
            for _ in 0..<40 {
                for q in current.queues.indices { current.queues[q].arrivalRate *= 1.002 }
                if policy.shouldReplan(planned: planned, current: current) { break }
                // Before this tick's check: the parts it will judge, and the parts with a risen
                // queue (outside a part safe in its box), which judging every rise would judge.
                if let base = baseline, let (judged, lowered) = policy.judgedParts(base, current: current) {
                    judgedParts += judged.count
                    risenParts += Set(lowered.queues.indices.filter { q in
                        lowered.queues[q].arrivalRate > planned.queues[q].arrivalRate && !base.safeInBox[base.partOfQueue[q]]
                    }.map { base.partOfQueue[$0] }).union(base.overAtPlan.indices.filter { base.overAtPlan[$0] }).count
                }
                let whole = policy.shouldReplan(planned: planned, current: current, plan: plan, platform: platform,
                                                configuration: planner.configuration, headroom: 0.1)
                let partwise = policy.shouldReplan(planned: planned, current: current, plan: plan, platform: platform,
                                                   configuration: planner.configuration, headroom: 0.1, baseline: &baseline)
                #expect(whole == partwise, "seed \(seed)")
                if whole { break }
            }
        }
        #expect(risenParts >= 100, "parts judged if every rise were: \(risenParts)")
        // On these tight plans about half the parts are within a step of their threshold.
        #expect(judgedParts * 3 <= risenParts * 2, "parts judged: \(judgedParts), if every rise were: \(risenParts)")
    }

    /// The queues a re-plan refreshes: every queue of a part with a queue out of its band or
    /// beyond the threshold, or named as burst; nil where the whole host must be re-planned.
    @Test func theQueuesToReplanAreWholeParts() throws {
        // A host without a queue on every CPU (which would make it one part).
        let seed = try #require((UInt64(1)...50).first { !Self.host(seed: $0).1.queues.contains { $0.cpus == nil } })
        let (platform, planned) = Self.host(seed: seed)
        let policy = ReplanPolicy(hysteresis: 0.1)
        let planner = Planner()
        let plan = planner.plan(platform: platform, workload: planned, headroom: 0)
        var baseline: ReplanPolicy.Baseline?
        func replanned(_ current: Workload, forced: Set<String> = []) -> Set<String>? {
            policy.queuesToReplan(planned: planned, current: current, plan: plan, platform: platform,
                                  configuration: planner.configuration, headroom: 0, forced: forced, baseline: &baseline)
        }
        try #require(plan.feasible)
        #expect(try #require(replanned(planned)).isEmpty)
        // The parts: the queues on one domain's CPUs.
        func queues(on d: Int) -> Set<String> {
            Set(planned.queues.filter { $0.cpus!.allSatisfy(platform.domains[d].cpus.contains) }.map(\.name))
        }
        // A fall out of the band on one CPU's queue: the queues of its domain.
        var fallen = planned
        fallen.queues[0].arrivalRate *= 0.5
        #expect(replanned(fallen) == queues(on: 0))
        // The queue across domains 4 and 5 is a part of its own; a burst names it.
        #expect(replanned(planned, forced: ["shared"]) == ["shared"])
        // A new queue, or one moved to other CPUs: the whole host.
        var moved = planned
        moved.queues[0].cpus = [0, 1]
        #expect(replanned(moved) == nil)
        var added = planned
        added.queues.append(WorkQueue(name: "new", arrivalRate: 1, meanWork: 0.001, target: LatencyTarget(kind: .mean, seconds: 1)))
        #expect(replanned(added) == nil)
    }
}
