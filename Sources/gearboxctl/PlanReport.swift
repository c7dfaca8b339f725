import GearboxControl
import GearboxCore

/// The readable form of a plan: per domain the two speeds and their mix, per queue the
/// prediction against the target, and the total power.
enum PlanReport {
    static func text(_ plan: Plan) -> String {
        var lines: [String] = []
        let verdict = plan.feasible ? "every target met"
            : plan.queues.contains { $0.givenUp != nil } ? "INFEASIBLE: no plan meets every target; the targets that can be met are kept"
            : "INFEASIBLE: no plan meets every target; showing top speed"
        lines.append("Planned power \(fixed(plan.power.value, 2)) W, \(verdict).")
        let switches = Planner.switchRate(plan)
        if switches > 0 {
            lines.append("Frequency switches: \(fixed(switches, 0)) a second, \(fixed(plan.switchingPower.value, 2)) W of the power.")
        }
        lines.append("")
        var domains = TextTable(["DOMAIN", "CPUS", "LOW MHz", "HIGH MHz", "P(HIGH)", "TIME AT HIGH", "NOTE"])
        for d in plan.domains {
            let note = d.fallbackReason ?? d.ditherPeriod.map { "dither every \(fixed($0 * 1000, 1)) ms" } ?? ""
            domains.add([d.name, CPUList.format(d.cpus), fixed(d.low.megahertz, 0), fixed(d.high.megahertz, 0),
                         fixed(d.pHigh, 3), fixed(d.timeShareHigh, 3), note])
        }
        lines.append(domains.rendered())
        lines.append("")
        var queues = TextTable(["QUEUE", "TARGET", "PREDICTED", "MET", "SPLIT (CPU:share)"])
        for q in plan.queues {
            let split = q.split.keys.sorted().filter { q.split[$0]! > 0 }.map { "\($0):\(fixed(q.split[$0]! * 100, 0))%" }
            let margin = q.margin > 0 ? " (incl. \(fixed(q.margin * 100, 0))% margin)" : ""
            queues.add([q.name, "\(q.target.kind.rawValue) \(fixed(q.target.milliseconds, 2)) ms",
                        (q.predictedLatency.isFinite ? "\(fixed(q.predictedLatency * 1000, 2)) ms" : "unbounded") + margin,
                        q.meetsTarget ? "yes" : "NO", split.joined(separator: " ") + (q.confined ? " (confined)" : "")])
        }
        lines.append(queues.rendered())
        let givenUp = plan.queues.compactMap { q in q.givenUp.map { "\(q.name): target given up: \($0)" } }
        if !givenUp.isEmpty { lines += [""] + givenUp }
        if plan.queues.contains(where: \.confined) {
            lines.append("")
            lines.append("(confined): the queue's service is confined to these CPUs; the kernel balances it among them.")
        }
        return lines.joined(separator: "\n")
    }

    /// `x` with `digits` decimals, no Foundation formatting. Beyond 10^15 (after scaling)
    /// decimals are noise and would overflow `Int`: such a value prints as Swift prints it.
    static func fixed(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite else { return x > 0 ? "inf" : "-" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        guard abs(x) * scale < 1e15 else { return String(x) }
        let r = (x * scale).rounded() / scale
        var s = String(format: r, digits: digits)
        if s == "-0" { s = "0" }
        return s
    }
}

private extension String {
    init(format value: Double, digits: Int) {
        let negative = value < 0
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((abs(value) * scale).rounded())
        let whole = scaled / Int(scale)
        let frac = scaled % Int(scale)
        var s = (negative && scaled != 0 ? "-" : "") + String(whole)
        if digits > 0 {
            let f = String(frac)
            s += "." + String(repeating: "0", count: digits - f.count) + f
        }
        self = s
    }
}
