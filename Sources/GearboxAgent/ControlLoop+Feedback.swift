import GearboxCore

/// The agent's feedback on measured latency: the same `LatencyFeedback` the simulator runs,
/// fed by each live queue's Prometheus histogram.
extension ControlLoop {
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
        // The plan could not meet the corrected target: tightening further only winds up.
        let planned = currentPlan?.queues.first { $0.name == name }
        let saturated = planned.map { $0.predictedLatency > $0.target.seconds * $0.planningFactor * (1 + 1e-9) || $0.givenUp != nil } ?? false
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
