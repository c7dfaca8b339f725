import GearboxCore

/// gearbox's feedback on the latency it measures (`LatencyFeedback`), as the agent runs it.
extension SimulationEngine {
    /// Closes each queue's feedback window that is long enough and holds enough completions,
    /// and folds its statistic into the correction. Returns whether a correction moved
    /// beyond the re-plan hysteresis from the one the plan in force was made with.
    mutating func updateFeedback() -> Bool {
        guard var controller = feedback else { return false }
        var moved = false
        for q in queues.indices {
            guard let window = queues[q].feedbackWindow else { continue }
            let target = workload.queues[q].target
            guard now - queues[q].feedbackWindowStart >= controller.settings.window,
                  window.count >= controller.settings.minimumSamples(target.kind) else { continue }
            let measured = target.kind.quantile.map { window.quantile($0) } ?? window.mean
            let name = workload.queues[q].name
            // The last plan already failed the tightened target: tightening more only winds up.
            let planned = currentPlan?.queues.first { $0.name == name }
            let saturated = correctionsDropped || (planned.map { !$0.meetsTarget || $0.givenUp != nil } ?? false)
            if let factor = controller.observe(name, measured: measured, target: target.seconds, saturated: saturated) {
                moved = true
                if feedbackMoves.count < FeedbackMove.limit {
                    feedbackMoves.append(FeedbackMove(time: now, queue: name, factor: factor, measuredOverTarget: measured / target.seconds))
                }
            }
            queues[q].feedbackWindow = LatencyHistogram()
            queues[q].feedbackWindowStart = now
        }
        feedback = controller
        return moved && controller.movedBeyond(configuration.gearbox.hysteresis, since: currentPlan)
    }

    /// The plan for `estimate` with the corrections (feedback's tightened targets, the
    /// dispersion's raised SCV), unless they make the overload rule give up a target that a
    /// less corrected plan keeps: then the plan without the dispersion's raise, or without
    /// either, whichever is the first to keep every target the uncorrected plan keeps. The
    /// corrections are margins against a model that is wrong; a tightened short queue beside a
    /// burst-inflated long one must not get the long one given up, nor a short queue tightened
    /// beyond what its work allows get itself given up. An infeasible corrected plan that
    /// gives up nothing stands (top speed is the right answer to a model that under-predicts).
    mutating func correctedPlan(_ planner: Planner, estimate: Workload) -> Plan {
        let headroom = configuration.gearbox.targetHeadroom
        func planned(feedback withFeedback: Bool, burstAware: Bool) -> Plan {
            var plan = planner.plan(platform: platform, workload: planningWorkload(estimate, feedback: withFeedback, burstAware: burstAware),
                                    headroom: headroom)
            for q in plan.queues.indices {
                plan.queues[q].planningFactor = withFeedback ? feedback?.factor(plan.queues[q].name) ?? 1 : 1
            }
            return plan
        }
        func kept(_ plan: Plan) -> Set<String> { Set(plan.queues.filter { $0.givenUp == nil }.map(\.name)) }
        let full = planned(feedback: true, burstAware: true)
        correctionsDropped = false
        guard full.queues.contains(where: { $0.givenUp != nil }),
              feedback != nil || dispersions.contains(where: { $0.planningIndex > 1 }) else { return full }
        let tried = [full, planned(feedback: true, burstAware: false), planned(feedback: false, burstAware: false)]
        let floor = kept(tried[2])
        let chosen = tried.firstIndex { floor.isSubset(of: kept($0)) } ?? 2
        correctionsDropped = chosen > 0
        return tried[chosen]
    }

    /// What gearbox plans for: its targets corrected by feedback, the work SCV it was told
    /// where that differs from the truth, and that SCV raised by the arrivals' dispersion.
    func planningWorkload(_ estimate: Workload, feedback withFeedback: Bool = true, burstAware: Bool = true) -> Workload {
        var w = withFeedback ? (feedback?.planningWorkload(estimate) ?? estimate) : estimate
        for q in w.queues.indices {
            if let scv = configuration.gearbox.assumedSCV[w.queues[q].name] { w.queues[q].scv = scv }
            if burstAware, q < dispersions.count {
                w.queues[q] = ArrivalDispersion.burstAware(w.queues[q], index: dispersions[q].planningIndex)
            }
        }
        return w
    }

    /// Folds the tick's arrival counts into each queue's dispersion; returns whether some
    /// queue's planning index moved by more than a quarter from the one the plan used.
    mutating func updateDispersion(_ counts: [Int]) -> Bool {
        guard configuration.gearbox.burstAware else { return false }
        if dispersions.isEmpty { dispersions = Array(repeating: ArrivalDispersion(), count: counts.count) }
        for q in counts.indices { dispersions[q].add(count: Double(counts[q])) }
        guard plannedIndices.count == dispersions.count else { return false }
        return dispersions.indices.contains { abs(dispersions[$0].planningIndex / plannedIndices[$0] - 1) > 0.25 }
    }
}

/// One move of gearbox's feedback in a simulated run.
public struct FeedbackMove: Hashable, Sendable {
    /// Simulated time in seconds (from the start, warm-up included).
    public var time: Double
    public var queue: String
    /// The new planning target over the real one.
    public var factor: Double
    /// The window's measurement over the target that moved it.
    public var measuredOverTarget: Double
    /// Moves a run keeps (beyond, only the count in `LatencyFeedback.Correction.moves`).
    public static let limit = 10_000
}
