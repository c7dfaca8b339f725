import GearboxConfig
import GearboxCore
import Testing
@testable import GearboxAgent

/// Kernel-only re-plans on a host of one-CPU domains: when one CPU's demand moves, its part is
/// planned anew and every other CPU keeps the figures and the domain plan it had.
@Suite struct PartialReplanLoopTests {
    @Test func oneCPUsDemandReplansItsPartAlone() throws {
        let platform = KernelDemandFeedbackTests.platform
        var loop = ControlLoop(platform: platform, configuration: AgentConfiguration())
        // Each CPU offers work worth a fraction of its top speed (1 ref-s/s) and is busy for
        // that over the speed the plan runs it at, as CPU-bound work is.
        var demand: [Int: Double] = Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, 0.3 + 0.05 * Double($0)) })
        var now = 0.0
        func tick() -> ControlLoop.Decision {
            now += 0.1
            let speeds = loop.averageSpeeds()
            var busy: [Int: Double] = [:]
            for (cpu, offered) in demand { busy[cpu] = min(1, offered / (speeds[cpu] ?? 1)) }
            return loop.tick(busy: busy, interval: 0.1, now: now)
        }
        // Until the plan has settled: 50 ticks in a row without a re-plan.
        var quiet = 0
        for _ in 0..<1000 where quiet < 50 { quiet = tick().reason == nil ? quiet + 1 : 0 }
        try #require(quiet == 50)
        // CPU 3's demand climbs a little each tick until the plan moves.
        var decision: ControlLoop.Decision?
        var prior: (workload: Workload, plan: Plan)?
        for _ in 0..<400 {
            demand[3]! += 0.001
            let before = (try #require(loop.plannedWorkload), try #require(loop.currentPlan))
            let next = tick()
            if next.reason != nil {
                decision = next
                prior = before
                break
            }
        }
        let replan = try #require(decision)
        let (planned, previous) = try #require(prior)
        let plan = try #require(replan.newPlan)
        let workload = try #require(loop.plannedWorkload)
        // CPU 3 is planned at its new estimate, every other CPU at the figures it had.
        for queue in workload.queues {
            let old = try #require(planned.queues.first { $0.name == queue.name })
            if queue.name == "cpu3" {
                #expect(queue.arrivalRate > old.arrivalRate)
            } else {
                #expect(queue == old, "\(queue.name)")
            }
        }
        // No switch budget and mean targets: the other domains' plans are as they were.
        for domain in plan.domains where domain.name != "policy3" {
            #expect(previous.domains.first { $0.name == domain.name } == domain, "\(domain.name)")
        }
        #expect(plan.domains[3] != previous.domains[3])
        // The oracle: a planner without part plans, planning the whole host for that workload.
        let whole = Planner(configuration: loop.planner.configuration).plan(
            platform: platform, workload: loop.replanPolicy.plannable(loop.planningView(workload)),
            headroom: loop.configuration.targetHeadroom)
        #expect(plan.domains == whole.domains)
        #expect(plan.queues.map(\.split) == whole.queues.map(\.split))
        #expect(plan.power == whole.power)

        // Anything but estimates (here a reload) plans every queue at its current estimate.
        _ = loop.reconfigure(loop.configuration, platform: platform)
        #expect(loop.plannedWorkload == loop.currentWorkload())
    }
}
