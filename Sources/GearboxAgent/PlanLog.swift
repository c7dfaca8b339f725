import GearboxCore
import Logging

/// How plan changes reach the journal: a `plan` record, then a record per domain and per
/// queue whose part of the plan changed, with the structured fields of docs/agent.md ("Logs")
/// (the journald handler turns `low_khz` into GEARBOX_LOW_KHZ). The first plan logs every
/// domain and queue. On a host of a hundred domains re-planned every few seconds, a record per
/// domain each time would be most of the journal and a share of the agent's own cost; the
/// plan file always holds the whole plan.
enum PlanLog {
    static func record(_ plan: Plan, replacing previous: Plan? = nil, reason: String, logger: Logger) {
        let oldDomains = Dictionary((previous?.domains ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let oldQueues = Dictionary((previous?.queues ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let domains = plan.domains.filter { d in oldDomains[d.name].map { domainChanged(d, from: $0) } ?? true }
        let queues = plan.queues.filter { q in oldQueues[q.name].map { queueChanged(q, from: $0) } ?? true }
        logger.notice("new plan: \(formatWatts(plan.power.value)) W\(plan.feasible ? "" : ", INFEASIBLE"): \(reason)", metadata: [
            "event": "plan", "watts": "\(plan.power.value)", "feasible": "\(plan.feasible)",
            "domains_changed": "\(domains.count)", "queues_changed": "\(queues.count)",
        ])
        for d in domains {
            logger.info("domain \(d.name): \(d.low.value)/\(d.high.value) kHz, p_high \(d.pHigh)", metadata: [
                "event": "plan_domain", "domain": "\(d.name)", "cpus": "\(CPUList.format(d.cpus))",
                "low_khz": "\(d.low.value)", "high_khz": "\(d.high.value)", "p_high": "\(d.pHigh)",
                "time_share_high": "\(d.timeShareHigh)",
            ])
        }
        for q in queues {
            logger.info("queue \(q.name): predicted \(q.predictedLatency * 1000) ms against \(q.target.kind.rawValue) \(q.target.milliseconds) ms", metadata: [
                "event": "plan_queue", "queue": "\(q.name)", "predicted_ms": "\(q.predictedLatency * 1000)",
                "target_ms": "\(q.target.milliseconds)",
            ])
        }
    }

    /// A domain is logged when its speeds or CPUs changed, or its share of time at the higher
    /// speed moved by at least `shareStep` (smaller moves follow every re-estimate).
    static func domainChanged(_ d: DomainPlan, from old: DomainPlan) -> Bool {
        old.low != d.low || old.high != d.high || old.cpus != d.cpus
            || abs(old.timeShareHigh - d.timeShareHigh) >= shareStep
    }

    /// A queue is logged when its target changed, it came to meet or miss it, or its predicted
    /// latency moved by at least `latencyStep` of the target.
    static func queueChanged(_ q: QueuePlan, from old: QueuePlan) -> Bool {
        guard old.predictedLatency.isFinite, q.predictedLatency.isFinite else {
            return old.predictedLatency.isFinite != q.predictedLatency.isFinite || old.target != q.target
        }
        return old.target != q.target || old.meetsTarget != q.meetsTarget
            || abs(old.predictedLatency - q.predictedLatency) >= latencyStep * q.target.seconds
    }

    static let shareStep = 0.05
    static let latencyStep = 0.05

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
