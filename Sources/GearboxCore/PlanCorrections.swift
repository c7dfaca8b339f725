/// The margins gearbox plans with against a model that is wrong (docs/model.md, "Burst-aware
/// estimates"): feedback's tightened targets (`LatencyFeedback`) and the arrivals' dispersion,
/// which raises each queue's planned SCV (`ArrivalDispersion.burstAware`). One implementation
/// for the simulator's `gearbox` policy and the agent.
///
/// Both are margins, and must not make the overload rule give up a target: where the corrected
/// plan gives up a queue, the plan without the dispersion's raise and the plan without either
/// are made too, and the first of the three (most corrected first) that keeps every target the
/// uncorrected plan keeps is used. An infeasible corrected plan that gives up nothing stands:
/// its top speed is the right answer to a model that under-predicts.
public struct PlanCorrections: Sendable {
    /// Feedback's corrections; nil plans the real targets.
    public var feedback: LatencyFeedback?
    /// The index of dispersion to plan each queue's arrivals with, by queue name (absent or at
    /// most 1: Poisson).
    public var dispersion: [String: Double]

    public init(feedback: LatencyFeedback?, dispersion: [String: Double] = [:]) {
        self.feedback = feedback
        self.dispersion = dispersion
    }

    /// What `plan(_:with:)` chose.
    public struct Chosen: Sendable {
        /// The plan, each queue with the planning factor and dispersion it was made with.
        public var plan: Plan
        /// The workload it was made for (targets and SCVs as corrected).
        public var workload: Workload
        /// Some correction was left out, because it made the overload rule give up a target
        /// the uncorrected plan keeps (feedback does not tighten meanwhile).
        public var dropped: Bool
    }

    /// `workload` with the corrections: targets times feedback's factors, SCVs raised by the
    /// dispersion.
    public func workload(_ workload: Workload, feedback withFeedback: Bool = true, burstAware: Bool = true) -> Workload {
        var w = withFeedback ? (feedback?.planningWorkload(workload) ?? workload) : workload
        guard burstAware else { return w }
        for q in w.queues.indices {
            w.queues[q] = ArrivalDispersion.burstAware(w.queues[q], index: dispersion[w.queues[q].name] ?? 1)
        }
        return w
    }

    /// The plan `planner` makes for `workload` with the corrections, or with fewer of them where
    /// they would give up a target the uncorrected plan keeps.
    public func plan(_ workload: Workload, with planner: (Workload) -> Plan) -> Chosen {
        func planned(feedback withFeedback: Bool, burstAware: Bool) -> Chosen {
            let corrected = self.workload(workload, feedback: withFeedback, burstAware: burstAware)
            var plan = planner(corrected)
            for q in plan.queues.indices {
                let name = plan.queues[q].name
                plan.queues[q].planningFactor = withFeedback ? feedback?.factor(name) ?? 1 : 1
                plan.queues[q].arrivalDispersion = burstAware ? max(1, dispersion[name] ?? 1) : 1
            }
            return Chosen(plan: plan, workload: corrected, dropped: !withFeedback || !burstAware)
        }
        func kept(_ plan: Plan) -> Set<String> { Set(plan.queues.filter { $0.givenUp == nil }.map(\.name)) }
        let full = planned(feedback: true, burstAware: true)
        guard full.plan.queues.contains(where: { $0.givenUp != nil }),
              feedback != nil || dispersion.values.contains(where: { $0 > 1 }) else {
            return Chosen(plan: full.plan, workload: full.workload, dropped: false)
        }
        let tried = [full, planned(feedback: true, burstAware: false), planned(feedback: false, burstAware: false)]
        let floor = kept(tried[2].plan)
        let chosen = tried.firstIndex { floor.isSubset(of: kept($0.plan)) } ?? 2
        var result = tried[chosen]
        result.dropped = chosen > 0
        return result
    }
}
