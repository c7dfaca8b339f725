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
        for (name, queue) in live {
            measured[name] = queue.measuredLatency
            stale[name] = queue.staleReason
        }
        return AgentStatus(
            mode: mode, now: now, platform: platform, plan: currentPlan,
            workload: overrides.adjust(plannedWorkload ?? Workload(queues: [])),
            measuredLatency: measured, staleQueues: stale, overrides: overrides,
            currentFrequencies: currentFrequencies, heldDomains: heldDomains)
    }

    /// What `explain` needs, copied out of the loop so that its re-plans (two per queue) run
    /// off the loop; nil before the first plan.
    public var explainInputs: ExplainInputs? {
        guard let plan = currentPlan else { return nil }
        return ExplainInputs(platform: platform, workload: overrides.adjust(plannedWorkload ?? Workload(queues: [])),
                             plan: plan, planner: planner)
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
