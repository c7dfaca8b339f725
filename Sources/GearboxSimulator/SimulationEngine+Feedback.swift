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
    /// dispersion's raised SCV), or with fewer where they would make the overload rule give up
    /// a target the uncorrected plan keeps (`PlanCorrections`, as the agent plans).
    mutating func correctedPlan(_ planner: Planner, estimate: Workload) -> Plan {
        let (told, corrections) = planningInputs(estimate)
        let chosen = corrections.plan(told) {
            planner.plan(platform: platform, workload: $0, headroom: configuration.gearbox.targetHeadroom)
        }
        correctionsDropped = chosen.dropped
        return chosen.plan
    }

    /// The estimate as gearbox is told it (a configured SCV replaces the measured one), and the
    /// corrections to plan it with: feedback's factors and each queue's dispersion.
    func planningInputs(_ estimate: Workload) -> (told: Workload, corrections: PlanCorrections) {
        var told = estimate
        for q in told.queues.indices {
            if let scv = configuration.gearbox.assumedSCV[told.queues[q].name] { told.queues[q].scv = scv }
        }
        var indices: [String: Double] = [:]
        for q in dispersions.indices where q < workload.queues.count { indices[workload.queues[q].name] = dispersions[q].planningIndex }
        return (told, PlanCorrections(feedback: feedback, dispersion: indices))
    }

    /// Folds the tick's arrival counts into each queue's dispersion; returns whether some
    /// queue's planning index moved by more than a quarter from the one the plan used.
    mutating func updateDispersion(_ counts: [Int]) -> Bool {
        guard configuration.gearbox.burstAware else { return false }
        if dispersions.isEmpty { dispersions = Array(repeating: ArrivalDispersion(), count: counts.count) }
        for q in counts.indices { dispersions[q].add(count: Double(counts[q])) }
        guard plannedIndices.count == dispersions.count else { return false }
        return dispersions.indices.contains { ArrivalDispersion.moved(dispersions[$0].planningIndex, from: plannedIndices[$0]) }
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
