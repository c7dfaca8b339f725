import Foundation
import GearboxCore
import Testing

/// Planner behaviour: infeasible inputs, fork-join, dithering, shares, merging.
@Suite struct PlannerTests {
    /// RK3399 (Rockchip device tree, rk3399.dtsi OPP tables; energy model power from
    /// dynamic-power-coefficient and OPP voltages): 4×A53 and 2×A72.
    static let rk3399 = Platform(domains: [
        FrequencyDomain(
            name: "little", cpus: [0, 1, 2, 3], capacity: 485, idlePower: Watts(0.005),
            operatingPoints: [(408_000, 0.0278), (600_000, 0.0408), (816_000, 0.0590), (1_008_000, 0.0862),
                              (1_200_000, 0.1200), (1_416_000, 0.1792)]
                .map { OperatingPoint(frequency: Kilohertz($0.0), busyPower: Watts($0.1)) },
            transitionLatencyMicroseconds: 40),
        FrequencyDomain(
            name: "big", cpus: [4, 5], capacity: 1024, idlePower: Watts(0.01),
            operatingPoints: [(408_000, 0.1211), (600_000, 0.1781), (816_000, 0.2422), (1_008_000, 0.3365),
                              (1_200_000, 0.4722), (1_416_000, 0.6486), (1_608_000, 0.8483), (1_800_000, 1.1301)]
                .map { OperatingPoint(frequency: Kilohertz($0.0), busyPower: Watts($0.1)) },
            transitionLatencyMicroseconds: 40),
    ])

    func queue(_ name: String, rate: Double, workMs: Double, kind: LatencyKind, targetMs: Double,
               scv: Double = 1, cpus: [Int]? = nil, dispatch: Dispatch = .route) -> WorkQueue {
        WorkQueue(name: name, arrivalRate: rate, meanWork: workMs / 1000, scv: scv,
                  target: LatencyTarget(kind: kind, seconds: targetMs / 1000), cpus: cpus, dispatch: dispatch)
    }

    /// Speed in ref-s per second from docs/model.md's definition: capacity / 1024 × f / f_max.
    static func speed(_ domain: FrequencyDomain, _ frequency: Kilohertz) -> Double {
        domain.capacity / 1024 * Double(frequency.value) / Double(domain.operatingPoints.last!.frequency.value)
    }

    /// Busy power of one CPU at `frequency`, read from the domain's table.
    static func busyPower(_ domain: FrequencyDomain, _ frequency: Kilohertz) -> Double {
        domain.operatingPoints.first { $0.frequency == frequency }!.busyPower.value
    }

    /// Host power of a plan of routed queues from docs/model.md's definitions alone, not from the
    /// planner's model: CPU i draws its domain's idle power, plus for each ref-s of work it
    /// serves the busy-minus-idle energy of the speed the work runs at,
    ///     P_i = P_idle + Σ_q λ_q split_q(i) w_q [p (P_H − P_idle) / s_H + (1 − p)(P_L − P_idle) / s_L].
    static func handPower(_ platform: Platform, _ workload: Workload, _ plan: Plan) -> Double {
        var total = 0.0
        for (domain, domainPlan) in zip(platform.domains, plan.domains) {
            let idle = domain.idlePower.value, p = domainPlan.pHigh
            let sLow = speed(domain, domainPlan.low), sHigh = speed(domain, domainPlan.high)
            let energyPerWork = p * (busyPower(domain, domainPlan.high) - idle) / sHigh
                + (1 - p) * (busyPower(domain, domainPlan.low) - idle) / sLow
            for cpu in domain.cpus {
                let work = zip(workload.queues, plan.queues).reduce(0.0) { sum, pair in
                    sum + pair.0.arrivalRate * (pair.1.split[cpu] ?? 0) * pair.0.meanWork
                }
                total += idle + work * energyPerWork
            }
            // docs/model.md, "The cost of actuation": a time share switches 2/τ times a second,
            // each switch 10 µs of agent CPU at the top busy power plus the transition latency
            // at the higher busy power on every CPU of the domain.
            if let period = domainPlan.ditherPeriod, domainPlan.low != domainPlan.high {
                let top = domain.operatingPoints.map(\.busyPower.value).max()!
                let latency = (domain.transitionLatencyMicroseconds ?? 10) * 1e-6
                let stall = max(busyPower(domain, domainPlan.low), busyPower(domain, domainPlan.high))
                total += 2 / period * (10e-6 * top + latency * Double(domain.cpus.count) * stall)
            }
        }
        return total
    }

    @Test func phonePlanMeetsTargetsOnHullPoints() {
        let workload = Workload(queues: [
            queue("ui", rate: 300, workMs: 2, kind: .p99, targetMs: 25),
            queue("sync", rate: 100, workMs: 4, kind: .mean, targetMs: 40),
        ])
        let plan = Planner().plan(platform: Self.rk3399, workload: workload)
        #expect(plan.feasible)
        let check = LatencyModel.predict(platform: Self.rk3399, workload: workload, plan: plan)
        #expect(check.feasible)
        let handPower = Self.handPower(Self.rk3399, workload, plan)
        #expect(abs(handPower - plan.power.value) < 1e-9 * handPower, "planner \(plan.power.value) W, by hand \(handPower) W")
        for (domain, domainPlan) in zip(Self.rk3399.domains, plan.domains) {
            #expect(domain.hull.contains(domainPlan.low) && domain.hull.contains(domainPlan.high))
        }
        #expect(plan.cpus.map(\.cpu) == [0, 1, 2, 3, 4, 5])
        #expect(plan.cpus.allSatisfy { $0.utilization <= 0.95 + 1e-9 })
    }

    @Test func overloadIsInfeasibleAtTopSpeed() {
        // 3000/s of 1 ms work is 3 ref-s per second; the A72 pair at top gives 2.
        let workload = Workload(queues: [queue("flood", rate: 3000, workMs: 1, kind: .mean, targetMs: 10, cpus: [4, 5])])
        let plan = Planner().plan(platform: Self.rk3399, workload: workload)
        #expect(!plan.feasible)
        #expect(plan.domains[1].high == Kilohertz(1_800_000) && plan.domains[1].pHigh == 1)
        #expect(plan.queues[0].predictedLatency == .infinity)
    }

    @Test func tightTargetReportsBestReachableLatency() {
        // 2 ms of work on an A72 at top takes 2 ms: a 2.2 ms mean at 200/s cannot be met.
        let workload = Workload(queues: [queue("tight", rate: 200, workMs: 2, kind: .mean, targetMs: 2.2)])
        let plan = Planner().plan(platform: Self.rk3399, workload: workload)
        #expect(!plan.feasible)
        // Every domain the queue may use runs at its top frequency.
        #expect(plan.domains.allSatisfy { $0.low == $0.high && $0.pHigh == 1 })
        #expect(plan.domains.map(\.high) == [Kilohertz(1_416_000), Kilohertz(1_800_000)])
        let latency = plan.queues[0].predictedLatency
        // By hand at top speed: exponential work (SCV 1), so each CPU is an M/M/1 queue with
        // mean response S / (1 − ρ), S = w / s, ρ = λ_i S; the queue's mean weighs them by share.
        func meanResponse(little: Double, big: Double) -> Double {
            let sLittle = 0.002 / (485.0 / 1024), sBig = 0.002 / 1.0
            func response(_ share: Double, _ service: Double) -> Double {
                share == 0 ? 0 : share * service / (1 - 200 * share * service)
            }
            return (0..<4).reduce(0) { sum, _ in sum + response(little, sLittle) }
                + (0..<2).reduce(0) { sum, _ in sum + response(big, sBig) }
        }
        let split = plan.queues[0].split
        let little = split[0] ?? 0, big = split[4] ?? 0
        #expect((0..<4).allSatisfy { split[$0] ?? 0 == little } && split[5] ?? 0 == big, "\(split)")
        let byHand = meanResponse(little: little, big: big)
        #expect(abs(latency - byHand) <= 1e-9 * byHand, "planner \(latency) s, by hand \(byHand) s for its split")
        // And that split is the best there is: a brute-force search over the share x sent to the
        // big pair (the rest spread over the little CPUs; each CPU below saturation).
        var best = Double.infinity
        for step in 0...100_000 {
            let x = Double(step) / 100_000
            let pair = x / 2, quad = (1 - x) / 4
            guard 200 * pair * 0.002 < 1, 200 * quad * 0.002 / (485.0 / 1024) < 1 else { continue }
            best = min(best, meanResponse(little: quad, big: pair))
        }
        print("tight target: planner \(latency) s, best over the split grid \(best) s")
        #expect(latency <= best * (1 + 1e-3) && latency > 0.0022)
    }

    @Test func forkJoinWorkFractionsAreChosen() {
        let workload = Workload(queues: [queue("scatter", rate: 150, workMs: 4, kind: .mean, targetMs: 6,
                                               dispatch: .forkJoin(parts: 6, needed: 6))])
        let plan = Planner().plan(platform: Self.rk3399, workload: workload)
        #expect(plan.feasible)
        let split = plan.queues[0].split
        #expect(split.keys.sorted() == [0, 1, 2, 3, 4, 5])
        #expect(abs(split.values.reduce(0, +) - 1) < 1e-9)
        #expect(plan.queues[0].margin == 0)
        #expect(LatencyModel.predict(platform: Self.rk3399, workload: workload, plan: plan).feasible)
        // Equal fractions on the same speeds cost no less (the fractions were optimised).
        var equal = plan
        for cpu in split.keys { equal.queues[0].split[cpu] = 1.0 / 6 }
        let check = LatencyModel.predict(platform: Self.rk3399, workload: workload, plan: equal)
        #expect(!check.feasible || check.power.value >= plan.power.value * (1 - 1e-9))
    }

    /// Headroom is a preference: at the host's limit the plan for the real target is kept.
    @Test func headroomFallsBackToTheRealTargetsAtTheLimit() {
        let platform = Platform(domains: [FrequencyDomain(
            name: "policy0", cpus: [0], capacity: 1024, idlePower: Watts(0.1),
            operatingPoints: [500_000, 1_000_000].map { OperatingPoint(frequency: Kilohertz($0), busyPower: Watts(Double($0) / 1e6)) })])
        // M/M/1 at top speed: 1 / (1000 − 500) = 2 ms, just inside 2.02 ms, not inside 0.97 × 2.02.
        let workload = Workload(queues: [WorkQueue(name: "q", arrivalRate: 500, meanWork: 0.001,
                                                   target: LatencyTarget(kind: .mean, seconds: 0.00202))])
        let plan = Planner().plan(platform: platform, workload: workload, headroom: 0.03)
        #expect(plan.feasible)
        #expect(plan.queues[0].target.seconds == 0.00202)
        #expect(plan.queues[0].predictedLatency <= 0.00202 * (1 + 1e-9))
        #expect(plan.queues[0].predictedLatency > 0.97 * 0.00202)
        // With room to spare the headroom is taken, and the plan still names the real target.
        var loose = workload
        loose.queues[0].target.seconds = 0.004
        let margined = Planner().plan(platform: platform, workload: loose, headroom: 0.03)
        #expect(margined.feasible && margined.queues[0].target.seconds == 0.004)
        #expect(margined.queues[0].predictedLatency <= 0.97 * 0.004 * (1 + 1e-9))
        #expect(margined.queues[0].predictedLatency > 0.95 * 0.004)
    }

    @Test func codedForkJoinChoosesCPUsAndCarriesMargin() {
        let workload = Workload(queues: [queue("replica", rate: 100, workMs: 2, kind: .p99, targetMs: 30,
                                               dispatch: .forkJoin(parts: 2, needed: 1))])
        let plan = Planner().plan(platform: Self.rk3399, workload: workload)
        #expect(plan.feasible)
        let queuePlan = plan.queues[0]
        #expect(queuePlan.split.count == 2 && queuePlan.split.values.allSatisfy { $0 == 0.5 })
        // The margin is docs/model.md's fit for 1-of-2 p99 at the load of the busier subtask CPU:
        // (0.39 (n − k)^0.75 k^−0.15 − 0.02) = 0.37 at saturation, times the load shape
        // (1 − e^(−ρ/0.4)) / (1 − e^(−0.92/0.4)). Each chosen CPU carries every request's
        // w / k = 2 ms at 100/s: ρ = 0.2 s of work per second × time per work of its speed mix.
        var busiest = 0.0
        for cpu in queuePlan.split.keys {
            let d = Self.rk3399.domainIndex(ofCPU: cpu)!
            let domain = Self.rk3399.domains[d], domainPlan = plan.domains[d]
            let timePerWork = domainPlan.pHigh / Self.speed(domain, domainPlan.high)
                + (1 - domainPlan.pHigh) / Self.speed(domain, domainPlan.low)
            busiest = max(busiest, 100 * 0.002 * timePerWork)
        }
        let expected = 0.37 * (1 - exp(-busiest / 0.4)) / (1 - exp(-0.92 / 0.4))
        #expect(busiest > 0.05 && busiest < 0.95, "ρ = \(busiest)")
        #expect(abs(queuePlan.margin - expected) < 1e-9, "margin \(queuePlan.margin), by hand \(expected) at ρ = \(busiest)")
        // The reported latency is the independence estimate (no margin) inflated by it.
        var independence = PlannerConfiguration()
        independence.forkJoinMarginScale = 0
        let raw = LatencyModel(platform: Self.rk3399, workload: workload, plan: plan, configuration: independence)
            .latency(ofQueue: 0, kind: .p99)
        #expect(abs(queuePlan.predictedLatency - raw * (1 + expected)) < 1e-12 * raw)
        #expect(queuePlan.predictedLatency <= 0.030 * (1 + 1e-9))
    }

    @Test func ditherPeriodFollowsServiceTimes() {
        let workload = Workload(queues: [queue("ui", rate: 300, workMs: 2, kind: .p99, targetMs: 25)])
        let plan = Planner().plan(platform: Self.rk3399, workload: workload)
        var mixed = 0
        for (d, domainPlan) in plan.domains.enumerated() where domainPlan.pHigh > 0 && domainPlan.pHigh < 1 {
            mixed += 1
            // τ = min(50 ms, 5 × the shortest mean service time on the domain); ui's 2 ms of
            // work takes w (p / s_H + (1 − p) / s_L) on average (the 1 ms floor, 10 × 40 µs, is below).
            let domain = Self.rk3399.domains[d]
            let service = 0.002 * (domainPlan.pHigh / Self.speed(domain, domainPlan.high)
                + (1 - domainPlan.pHigh) / Self.speed(domain, domainPlan.low))
            let expected = min(0.050, 5 * service)
            #expect(expected > 0.001)
            let period = domainPlan.ditherPeriod ?? -1
            #expect(abs(period - expected) < 1e-12, "\(domainPlan.name): τ \(period), by hand \(expected)")
            #expect(domainPlan.fallbackReason == nil)
        }
        #expect(mixed >= 1, "no domain mixes two speeds: the rule was not exercised")
        for domainPlan in plan.domains where domainPlan.pHigh == 1 || domainPlan.pHigh == 0 {
            #expect(domainPlan.ditherPeriod == nil)
        }
    }

    @Test func slowTransitionsFallBackToOnePureSpeed() {
        // A 2 ms transition latency puts the floor at 20 ms, above 5 × 0.5 ms of service.
        var platform = Self.rk3399
        for d in platform.domains.indices { platform.domains[d].transitionLatencyMicroseconds = 2000 }
        let workload = Workload(queues: [queue("rpc", rate: 1500, workMs: 0.5, kind: .p99, targetMs: 8)])
        let plan = Planner().plan(platform: platform, workload: workload)
        #expect(plan.feasible)
        #expect(plan.domains.allSatisfy { $0.pHigh == 1 && $0.ditherPeriod == nil })
        #expect(plan.domains.contains { $0.fallbackReason != nil })
        #expect(LatencyModel.predict(platform: platform, workload: workload, plan: plan).feasible)
        // Without the floor the same workload mixes speeds somewhere, and its CPUs cost no more.
        let free = Planner().plan(platform: Self.rk3399, workload: workload)
        #expect(free.domains.contains { $0.pHigh < 1 })
        let cpuWatts = { (plan: Plan) in plan.cpus.reduce(0.0) { $0 + $1.power.value } }
        #expect(cpuWatts(free) <= cpuWatts(plan) * (1 + 1e-9))
    }

    /// Merging identical domains (parts of more than 3 domains) is a speed-up that can cost a
    /// few percent where several queues share the domains; it stays feasible and close.
    @Test func identicalDomainsMergedStayClose() {
        let domains = (0..<6).map { d in
            Fixtures.domain(name: "policy\(2 * d)", cpus: [2 * d, 2 * d + 1], idle: 0.05,
                            points: [(800_000, 0.3), (1_600_000, 0.9), (2_400_000, 2.4)])
        }
        let platform = Platform(domains: domains)
        let workload = Workload(queues: [
            queue("web", rate: 2500, workMs: 1, kind: .mean, targetMs: 4),
            queue("rpc", rate: 3000, workMs: 0.3, kind: .p99, targetMs: 3, cpus: Array(0..<8)),
        ])
        let merged = Planner().plan(platform: platform, workload: workload)
        var configuration = PlannerConfiguration()
        configuration.mergeAbove = 1000
        let separate = Planner(configuration: configuration).plan(platform: platform, workload: workload)
        #expect(merged.feasible && separate.feasible)
        #expect(merged.power.value <= 1.03 * separate.power.value)
        #expect(LatencyModel.predict(platform: platform, workload: workload, plan: merged).feasible)
    }

    @Test func meanOnlyWorkloadsSkipTailsButStillAnswerPercentiles() {
        // The agent's kernel-only workload: mean targets, routed, one queue per CPU. Its model
        // computes no waiting tails up front; asked for a percentile anyway it must give what a
        // model of the same queues with percentile targets (which computes them) gives.
        let means = Workload(queues: (0..<6).map { cpu in
            queue("cpu\(cpu)", rate: 40 + 30 * Double(cpu), workMs: 2, kind: .mean, targetMs: 20, cpus: [cpu])
        })
        var percentiles = means
        for q in percentiles.queues.indices { percentiles.queues[q].target = LatencyTarget(kind: .p99, seconds: 0.08) }
        let plan = Planner().plan(platform: Self.rk3399, workload: means)
        let lazy = LatencyModel(platform: Self.rk3399, workload: means, plan: plan)
        let eager = LatencyModel(platform: Self.rk3399, workload: percentiles, plan: plan)
        for q in means.queues.indices {
            for kind in [LatencyKind.p95, .p99, .mean] {
                #expect(lazy.latency(ofQueue: q, kind: kind) == eager.latency(ofQueue: q, kind: kind), "queue \(q) \(kind)")
            }
        }
    }
}
