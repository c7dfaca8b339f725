import GearboxControl
import GearboxCore

/// What the control socket and the metrics file read from the loop's state.
extension ControlLoop {
    /// The loop's state as `StatusDocument` and `MetricsFile` read it. `currentFrequencies` and
    /// `heldDomains` come from the host (`LinuxHost.state()`); `now` is on the overrides' clock.
    public func status(
        mode: String, now: Double, currentFrequencies: [String: Kilohertz] = [:], heldDomains: [String] = []
    ) -> AgentStatus {
        var measured: [String: Double] = [:]
        var stale: [String: String] = [:]
        var dispersion: [String: ArrivalDispersion] = [:]
        for (name, queue) in live {
            measured[name] = queue.measuredLatency
            stale[name] = queue.staleReason
            if queue.staleReason == nil { dispersion[name] = queue.dispersion }
        }
        var status = AgentStatus(
            mode: mode, now: now, platform: platform, plan: currentPlan,
            workload: overrides.adjust(plannedWorkload ?? Workload(queues: [])),
            measuredLatency: measured, staleQueues: stale, overrides: overrides,
            currentFrequencies: currentFrequencies, heldDomains: heldDomains)
        status.arrivalDispersion = dispersion
        return status
    }

    /// What `explain` needs, copied out of the loop so that its re-plans (two per queue) run
    /// off the loop; nil before the first plan. Its re-plans see each queue's work SCV raised
    /// by the dispersion the plan in force was made with, as that plan did.
    public var explainInputs: ExplainInputs? {
        guard let plan = currentPlan else { return nil }
        var workload = overrides.adjust(plannedWorkload ?? Workload(queues: []))
        for q in workload.queues.indices {
            let index = plan.queues.first { $0.name == workload.queues[q].name }?.arrivalDispersion ?? 1
            workload.queues[q] = ArrivalDispersion.burstAware(workload.queues[q], index: index)
        }
        // Explaining re-plans with other targets: those part plans are not kept
        // (`PartPlanCache` holds what the plans in force use, a bound on its memory).
        var planner = planner
        planner.partCache = nil
        return ExplainInputs(platform: platform, workload: workload, plan: plan, planner: planner)
    }
}

/// A snapshot for `ExplainDocument`, safe to hand to another task.
public struct ExplainInputs: Sendable {
    public var platform: Platform
    /// The workload the plan serves, overridden targets included.
    public var workload: Workload
    /// The plan in force (pins applied).
    public var plan: Plan
    public var planner: Planner

    public init(platform: Platform, workload: Workload, plan: Plan, planner: Planner) {
        self.platform = platform
        self.workload = workload
        self.plan = plan
        self.planner = planner
    }

    /// The explain document (re-plans: run it off the control loop).
    public func document() -> JSONValue {
        ExplainDocument.json(platform: platform, workload: workload, plan: plan, planner: planner)
    }
}
