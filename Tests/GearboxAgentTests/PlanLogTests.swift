import GearboxCore
import GearboxTestSupport
import Testing
@testable import GearboxAgent

/// What a plan change writes to the log (docs/agent.md, "Logs"): every domain and queue the
/// first time, afterwards only those whose part of the plan changed.
@Suite struct PlanLogTests {
    static let first: Plan = {
        let domains = (0..<3).map { d in
            DomainPlan(name: "policy\(d)", cpus: [d], low: Kilohertz(1_200_000), high: Kilohertz(1_800_000),
                       pHigh: 0.4, timeShareHigh: 0.3, ditherPeriod: 0.014)
        }
        let queues = ["web", "batch"].map { name in
            QueuePlan(name: name, target: LatencyTarget(kind: .mean, seconds: 0.020), predictedLatency: 0.010, split: [0: 0.5, 1: 0.5])
        }
        let cpus = (0..<3).map { CPUPlan(cpu: $0, utilization: 0.5, power: Watts(1)) }
        return Plan(feasible: true, power: Watts(3), domains: domains, queues: queues, cpus: cpus)
    }()

    @Test func theFirstPlanLogsEveryDomainAndQueue() {
        let log = CapturedLog()
        PlanLog.record(Self.first, reason: "first plan", logger: log.logger())
        #expect(log.events("plan").count == 1)
        #expect(log.events("plan_domain").count == 3)
        #expect(log.events("plan_queue").count == 2)
    }

    @Test func aReplanLogsOnlyWhatChanged() {
        var second = Self.first
        second.domains[1].high = Kilohertz(2_300_000)      // new speeds: logged
        second.domains[2].timeShareHigh += 0.01            // a re-estimate's small move: not logged
        second.domains[0].timeShareHigh += 0.06            // beyond 0.05 of the time: logged
        second.queues[0].predictedLatency += 0.0002        // 1 % of the 20 ms target: not logged
        second.queues[1].predictedLatency += 0.002         // 10 % of it: logged
        let log = CapturedLog()
        PlanLog.record(second, replacing: Self.first, reason: "estimates moved", logger: log.logger())
        let domains = log.events("plan_domain").compactMap { $0["domain"]?.description }
        #expect(Set(domains) == ["policy0", "policy1"])
        #expect(log.events("plan_queue").compactMap { $0["queue"]?.description } == ["batch"])
        let plan = log.events("plan")
        #expect(plan.count == 1)
        #expect(plan.first?["domains_changed"] == "2" && plan.first?["queues_changed"] == "1")

        // A queue that starts to miss its target is logged however little its prediction moved.
        var missing = Self.first
        missing.queues[0].predictedLatency = 0.0201
        var almost = Self.first
        almost.queues[0].predictedLatency = 0.0199
        let flip = CapturedLog()
        PlanLog.record(missing, replacing: almost, reason: "estimates moved", logger: flip.logger())
        #expect(flip.events("plan_queue").compactMap { $0["queue"]?.description } == ["web"])
    }
}
