import ArgumentParser
import Foundation
import GearboxControl

/// `gearboxctl explain`: why the agent's plan is what it is.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain the running agent's plan: each queue's binding constraint and the watts a millisecond of latency is worth.",
        discussion: """
            The agent re-plans with each queue's target 5 % looser and tighter and reports the \
            change in planned power per ms (central difference; one-sided where the tighter target \
            cannot be met). Open to every local user. Exit status as for status.
            """
    )

    @OptionGroup var control: ControlOptions

    func run() throws {
        let document = try control.send(.explain)
        if !control.json { print(Self.text(document)) }
    }

    static func text(_ explain: JSONValue) -> String {
        let watts = explain["power_watts"]?.doubleValue.map { PlanReport.fixed($0, 2) } ?? "-"
        var lines = ["Planned power \(watts) W\(explain["feasible"]?.boolValue == false ? ", INFEASIBLE" : "").", ""]
        var table = TextTable(["QUEUE", "BINDING", "TARGET ms", "PREDICTED ms", "SLACK ms", "MAX ρ", "W PER ms"])
        var reasons: [String] = []
        for q in explain["queues"]?.arrayItems ?? [] {
            let name = q["name"]?.stringValue ?? "?"
            table.add([name, q["binding"]?.stringValue ?? "?",
                       "\(q["kind"]?.stringValue ?? "") \(StatusReport.number(q["target_ms"], 2))",
                       StatusReport.number(q["predicted_ms"], 2), StatusReport.number(q["slack_ms"], 2),
                       StatusReport.number(q["max_utilization"], 3),
                       q["marginal_watts_per_ms"]?.doubleValue.map { String(format: "%.3g", $0) } ?? "-"])
            if let factor = q["planning_factor"]?.doubleValue, factor < 1 {
                reasons.append("\(name): measured latency over target: planned for \(PlanReport.fixed(factor * 100, 0)) % of the target (feedback)")
            }
            if q["burst_bound"]?.boolValue == true, let index = q["arrival_dispersion"]?.doubleValue {
                reasons.append("\(name): bursty arrivals: planned with the GI/G/1 bound at dispersion \(PlanReport.fixed(index, 1)) (the work's SCV raised by \(PlanReport.fixed(index - 1, 1)))")
            }
            if let givenUp = q["given_up"]?.stringValue {
                reasons.append("\(name): target given up in overload: \(givenUp)")
            } else if let reason = q["reason"]?.stringValue {
                reasons.append("\(name): \(reason)\(q["pinned"]?.boolValue == true ? " (its CPUs are pinned by an override)" : "")")
            }
        }
        lines.append(table.rendered())
        if !reasons.isEmpty { lines += [""] + reasons }
        let notes = (explain["domains"]?.arrayItems ?? []).compactMap { d -> String? in
            guard let note = d["note"]?.stringValue else { return nil }
            return "domain \(d["name"]?.stringValue ?? "?"): \(note)"
        }
        if !notes.isEmpty { lines += [""] + notes }
        return lines.joined(separator: "\n")
    }
}
