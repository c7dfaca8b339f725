import GearboxCore
import Logging

/// How plan changes reach the journal: one record per domain and per queue, with the
/// structured fields of docs/agent.md ("Logs") (the journald handler turns `low_khz` into GEARBOX_LOW_KHZ).
enum PlanLog {
    static func record(_ plan: Plan, reason: String, logger: Logger) {
        logger.notice("new plan: \(formatWatts(plan.power.value)) W\(plan.feasible ? "" : ", INFEASIBLE"): \(reason)", metadata: [
            "event": "plan", "watts": "\(plan.power.value)", "feasible": "\(plan.feasible)",
        ])
        for d in plan.domains {
            logger.info("domain \(d.name): \(d.low.value)/\(d.high.value) kHz, p_high \(d.pHigh)", metadata: [
                "event": "plan_domain", "domain": "\(d.name)", "cpus": "\(CPUList.format(d.cpus))",
                "low_khz": "\(d.low.value)", "high_khz": "\(d.high.value)", "p_high": "\(d.pHigh)",
                "time_share_high": "\(d.timeShareHigh)",
            ])
        }
        for q in plan.queues {
            logger.info("queue \(q.name): predicted \(q.predictedLatency * 1000) ms against \(q.target.kind.rawValue) \(q.target.milliseconds) ms", metadata: [
                "event": "plan_queue", "queue": "\(q.name)", "predicted_ms": "\(q.predictedLatency * 1000)",
                "target_ms": "\(q.target.milliseconds)",
            ])
        }
    }

    /// The one line of STATUS=: mode, planned watts, worst queue latency against its target.
    static func statusLine(_ plan: Plan, mode: String) -> String {
        var line = "\(mode): \(formatWatts(plan.power.value)) W planned"
        let worst = plan.queues.max { $0.predictedLatency / $0.target.seconds < $1.predictedLatency / $1.target.seconds }
        if let worst {
            line += "; worst \(worst.name) \(formatMs(worst.predictedLatency * 1000))/\(formatMs(worst.target.milliseconds)) ms \(worst.target.kind.rawValue)"
        }
        if !plan.feasible { line += "; INFEASIBLE, running at top speed" }
        return line
    }

    static func formatWatts(_ w: Double) -> String { w.isFinite ? String((w * 100).rounded() / 100) : "?" }
    static func formatMs(_ ms: Double) -> String { ms.isFinite ? String((ms * 100).rounded() / 100) : "inf" }
}
