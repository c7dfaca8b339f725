import GearboxCore
import GearboxSimulator

/// The text table of one or more runs: watts, energy against a reference run, and each
/// queue's mean/p95/p99 against its target.
struct CompareTable {
    var results: [SimulationResult]
    /// The run energy is compared with (gearbox), if any.
    var reference: SimulationResult?

    /// A run's row label: the policy, and the realisation for plan-following policies.
    static func label(_ r: SimulationResult) -> String {
        ["gearbox", "oracle", "plan"].contains(r.policy) ? "\(r.policy) \(r.realisation.rawValue)" : r.policy
    }

    static func milliseconds(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        let ms = seconds * 1000
        return format(ms, digits: ms >= 1000 ? 0 : (ms >= 100 ? 1 : 2))
    }

    /// `x` with `digits` decimals (no Foundation formatting: the output must not depend on
    /// the locale). Beyond 10^15 (after scaling) decimals are noise and would overflow `Int`:
    /// such a value prints as Swift prints it (`1e+20`).
    static func format(_ x: Double, digits: Int) -> String {
        guard x.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 1e15 else { return String(x) }
        let whole = Int(scaled / scale)
        var fraction = String(Int(scaled - Double(whole) * scale))
        while fraction.count < digits { fraction = "0" + fraction }
        return (x < 0 && scaled > 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + fraction : "")
    }

    var text: String {
        guard let first = results.first else { return "" }
        var header = ["policy", "watts"]
        if reference != nil { header.append("vs gearbox") }
        for q in first.queues {
            header.append("\(q.name) (\(q.target.kind.rawValue) ≤ \(Self.milliseconds(q.target.seconds)) ms) mean/p95/p99 ms")
        }
        var rows = [header]
        for r in results {
            var row = [Self.label(r), Self.format(r.power.value, digits: 3)]
            if let reference {
                row.append(Self.format(r.energyJoules / reference.energyJoules, digits: 3))
            }
            for q in r.queues {
                let values = [q.mean, q.p95, q.p99].map(Self.milliseconds).joined(separator: " / ")
                row.append(values + (q.met ? "  met" : "  MISSED") + (q.undecided ? "?" : " "))
            }
            rows.append(row)
        }
        var text = Self.align(rows)
        if results.contains(where: { $0.queues.contains(where: \.undecided) }) {
            text += "\n? the target lies inside the 95 % interval of the measurement: run longer to decide"
        }
        return text
    }

    /// Columns padded to their widest cell; numbers right-aligned, the policy left.
    static func align(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c == 0 ? cell + pad : pad + cell
            }.joined(separator: "   ")
        }.joined(separator: "\n")
    }

    /// One paragraph: whether gearbox met every target, and its energy against the
    /// cheapest baseline that did and against schedutil and performance.
    var summary: String {
        guard let reference else { return "" }
        var lines: [String] = []
        var verdict = "\(Self.label(reference)) meets every target: \(reference.allTargetsMet ? "yes" : "no")"
        if let worst = reference.queues.max(by: { $0.measured / $0.target.seconds < $1.measured / $1.target.seconds }),
           !reference.allTargetsMet {
            let excess = 100 * (worst.measured / worst.target.seconds - 1)
            verdict += " (worst: \(worst.name) \(worst.target.kind.rawValue) \(Self.milliseconds(worst.measured)) ms against \(Self.milliseconds(worst.target.seconds)) ms, +\(Self.format(excess, digits: 1)) %\(worst.undecided ? ", inside the run's 95 % interval" : ""))"
        }
        lines.append(verdict)
        let baselines = results.filter { !["gearbox", "oracle", "plan"].contains($0.policy) }
        let meeting = baselines.filter(\.allTargetsMet)
        if let cheapest = meeting.min(by: { $0.energyJoules < $1.energyJoules }) {
            lines.append("cheapest baseline meeting every target: \(cheapest.policy), \(Self.format(cheapest.power.value, digits: 3)) W; gearbox saves \(Self.saving(reference, cheapest))")
        } else {
            lines.append("no baseline meets every target")
        }
        for name in ["schedutil", "performance"] {
            guard let r = results.first(where: { $0.policy == name }) else { continue }
            lines.append("against \(name)\(r.allTargetsMet ? "" : " (which misses a target)"): gearbox saves \(Self.saving(reference, r))")
        }
        return lines.joined(separator: "\n")
    }

    /// The statement that the energies include frequency switching, with its price and
    /// what it came to for each run that switched.
    static func actuationNote(_ results: [SimulationResult], cost: ActuationCost, transition: TransitionModel) -> String {
        let stall = transition == .stall ? "the transition stall simulated"
            : "\(format(100 * cost.stallFraction, digits: 0)) % of the transition latency at busy power on every CPU of the domain"
        var lines = ["energy includes frequency switching: per switch \(format(cost.cpuSecondsPerSwitch * 1e6, digits: 1)) µs of agent CPU "
            + "at the domain's top busy power plus \(stall) (\(format(cost.unknownTransitionLatency * 1e6, digits: 0)) µs where unknown)"]
        for r in results where r.domains.contains(where: { $0.switches > 0 }) {
            let switches = r.domains.reduce(0) { $0 + $1.switches }
            let share = r.energyJoules > 0 ? 100 * r.actuationJoules / r.energyJoules : 0
            lines.append("  \(label(r)): \(format(Double(switches) / max(r.duration, 1e-9), digits: 0)) switches/s, "
                + "\(format(1000 * r.actuationJoules / max(r.duration, 1e-9), digits: 2)) mW (\(format(share, digits: 2)) % of its energy)")
        }
        return lines.joined(separator: "\n")
    }

    /// `1 − E_gearbox / E_other` as a percentage.
    static func saving(_ gearbox: SimulationResult, _ other: SimulationResult) -> String {
        "\(format(100 * (1 - gearbox.energyJoules / other.energyJoules), digits: 1)) %"
    }
}
