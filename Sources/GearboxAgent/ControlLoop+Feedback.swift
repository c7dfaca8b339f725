import GearboxCore

/// The agent's corrections against a wrong model, as the simulator's `gearbox` policy makes
/// them: feedback on measured latency (the same `LatencyFeedback`, fed by each live queue's
/// Prometheus histogram) and burst-aware plans (the same `ArrivalDispersion`, fed by the
/// per-tick increases of each live queue's arrival counter), combined by `PlanCorrections`.
extension ControlLoop {
    /// The dispersion index each answering live queue would be planned with now.
    public var measuredDispersion: [String: Double] {
        live.compactMapValues { $0.staleReason == nil ? $0.dispersion.planningIndex : nil }
    }

    /// Whether some live queue's dispersion index moved beyond `ArrivalDispersion.replanFraction`
    /// from the one the plan in force was made with.
    func dispersionMoved() -> Bool {
        guard currentPlan != nil else { return false }
        return measuredDispersion.contains { name, index in ArrivalDispersion.moved(index, from: plannedDispersion[name] ?? 1) }
    }

    /// The plan for `workload` (estimates with their noise margin) with feedback's factors and
    /// the measured dispersion, or with fewer corrections where they would give up a target
    /// (`PlanCorrections`); remembers what it was made with.
    mutating func correctedPlan(_ workload: Workload, planner: Planner) -> PlanCorrections.Chosen {
        let indices = measuredDispersion
        let chosen = PlanCorrections(feedback: feedback, dispersion: indices).plan(workload) {
            planner.plan(platform: platform, workload: $0, headroom: configuration.targetHeadroom)
        }
        plannedDispersion = indices
        correctionsDropped = chosen.dropped
        return chosen
    }

    /// The span of this tick in ticks, from the loop's clock (1 where the clock says nothing:
    /// the first tick, or callers that pass no time). More than 1 when ticks were missed.
    static func ticksCovered(since last: Double?, now: Double, interval: Double) -> Double {
        guard let last, interval > 0, now > last, (now - last).isFinite else { return 1 }
        return (now - last) / interval
    }

    /// Folds a live queue's feedback window into its correction once the window is long
    /// enough and holds enough requests; returns the log line when the correction moved.
    mutating func correctFromMeasurement(_ queue: inout LiveQueue) -> String? {
        let target = queue.configured.queue.target
        let window = queue.feedbackWindow
        guard window.seconds >= feedback.settings.window,
              window.count >= Double(feedback.settings.minimumSamples(target.kind)) else { return nil }
        queue.closeFeedbackWindow()
        guard let measured = window.statistic(target.kind) else { return nil }
        let name = queue.configured.queue.name
        // The plan could not meet the corrected target, or left the corrections out: tightening
        // further only winds up.
        let planned = currentPlan?.queues.first { $0.name == name }
        let saturated = correctionsDropped || planned.map { $0.predictedLatency > $0.target.seconds * $0.planningFactor * (1 + 1e-9) || $0.givenUp != nil } ?? false
        guard let moved = feedback.observe(name, measured: measured, target: target.seconds, saturated: saturated) else { return nil }
        return "feedback: \(target.kind.rawValue) measured \(Self.milliseconds(measured)) ms against \(Self.milliseconds(target.seconds)) ms over \(Int(window.seconds.rounded())) s; planning target now \(Self.milliseconds(target.seconds * moved)) ms (×\(Self.hundredths(moved)))"
    }

    static func milliseconds(_ seconds: Double) -> String { hundredths(seconds * 1000) }

    /// `x` with two decimals, without Foundation.
    static func hundredths(_ x: Double) -> String {
        guard x.isFinite, abs(x) < 1e12 else { return "\(x)" }
        let scaled = Int((abs(x) * 100).rounded())
        let fraction = scaled % 100
        return (x < 0 ? "-" : "") + "\(scaled / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }
}
