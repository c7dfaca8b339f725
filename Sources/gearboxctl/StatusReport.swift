import GearboxControl
import GearboxCore

/// The readable form of the agent's status document (fields of `StatusDocument` in GearboxAgent).
enum StatusReport {
    static func text(_ status: JSONValue) -> String {
        var lines: [String] = [headline(status)]
        if let profile = profileLine(status["profile"]) { lines.append(profile) }
        lines.append("")
        var domains = TextTable(["DOMAIN", "CPUS", "LOW MHz", "HIGH MHz", "P(HIGH)", "θ (TIME AT HIGH)", "NOW MHz", "NOTE"])
        for d in status["domains"]?.arrayItems ?? [] {
            let cpus = (d["cpus"]?.arrayItems ?? []).compactMap(\.intValue)
            var notes: [String] = []
            if let pin = d["pinned_khz"]?.intValue { notes.append("pinned at \(mhz(pin)) MHz") }
            if d["held"]?.boolValue == true { notes.append("HELD after a failed write") }
            if let mechanism = d["mechanism"]?.stringValue { notes.append(mechanism) }
            domains.add([d["name"]?.stringValue ?? "?", CPUList.format(cpus), mhz(d["low_khz"]), mhz(d["high_khz"]),
                         number(d["p_high"], 3), number(d["time_share_high"], 3), mhz(d["current_khz"]),
                         notes.joined(separator: "; ")])
        }
        lines.append(domains.rendered())
        let queues = status["queues"]?.arrayItems ?? []
        if !queues.isEmpty {
            var table = TextTable(["QUEUE", "RATE /s", "WORK ms", "TARGET ms", "PREDICTED ms", "MEASURED ms (mean)", "MET", "NOTE"])
            for q in queues {
                let kind = q["kind"]?.stringValue ?? ""
                let met = q["met"]?.boolValue.map { $0 ? "yes" : "NO" } ?? "-"
                let stale = note(q)
                let confined = q["confined_cpus"]?.stringValue.map { "confined to CPUs \($0)" } ?? ""
                table.add([q["name"]?.stringValue ?? "?", number(q["arrival_rate"], 1), number(q["mean_work_ms"], 3),
                           "\(kind) \(number(q["target_ms"], 2))", number(q["predicted_ms"], 2),
                           number(q["measured_mean_ms"], 2), met, [stale, confined].filter { !$0.isEmpty }.joined(separator: "; ")])
            }
            lines += ["", table.rendered()]
        }
        let overrides = status["overrides"]?.arrayItems ?? []
        if !overrides.isEmpty {
            var table = TextTable(["OVERRIDE", "SCOPE", "ACTION", "TIME LEFT"])
            for o in overrides {
                table.add([o["id"]?.intValue.map(String.init) ?? "?", scope(o["scope"]), action(o), timeLeft(o["expires_in_s"])])
            }
            lines += ["", table.rendered()]
        }
        return lines.joined(separator: "\n")
    }

    /// A queue's note: stale, given up in overload, or planned for a corrected target.
    static func note(_ q: JSONValue) -> String {
        if let reason = q["stale"]?.stringValue { return "STALE: \(reason)" }
        if let reason = q["given_up"]?.stringValue { return "GIVEN UP: \(reason)" }
        var notes: [String] = []
        if let factor = q["planning_factor"]?.doubleValue, factor < 1 {
            notes.append("planned for \(PlanReport.fixed(factor * 100, 0)) % of the target (feedback)")
        }
        if q["burst_bound"]?.boolValue == true, let index = q["arrival_dispersion"]?.doubleValue {
            notes.append("bursty arrivals: planned with dispersion \(PlanReport.fixed(index, 1))")
        }
        return notes.joined(separator: "; ")
    }

    static func headline(_ status: JSONValue) -> String {
        let mode = status["mode"]?.stringValue ?? "unknown mode"
        guard let watts = status["power_watts"]?.doubleValue else { return "gearboxd (\(mode)): no plan yet." }
        let verdict = status["feasible"]?.boolValue == false ? "INFEASIBLE: some target cannot be met, running at top speed" : "every target met"
        let count = status["overrides"]?.arrayItems?.count ?? 0
        let overrides = count == 0 ? "" : ", \(count) override\(count == 1 ? "" : "s") in force"
        let learned = status["power_model"]?["source"]?.stringValue == "learned" ? ", power curve learned from the energy counters" : ""
        return "gearboxd (\(mode)): planned \(PlanReport.fixed(watts, 2)) W, \(verdict)\(overrides)\(learned)."
    }

    /// `power profile: power-saver (battery, chosen by a user, 1 hold)`; nil when profiles are not followed.
    static func profileLine(_ profile: JSONValue?) -> String? {
        guard let profile, let active = profile["active"]?.stringValue else { return nil }
        var why: [String] = []
        if let source = profile["power_source"]?.stringValue { why.append(source) }
        if profile["chosen_by_user"]?.boolValue == true { why.append("chosen by a user") }
        let holds = profile["holds"]?.arrayItems?.count ?? 0
        if holds > 0 { why.append("\(holds) hold\(holds == 1 ? "" : "s")") }
        return "power profile: \(active)" + (why.isEmpty ? "" : " (\(why.joined(separator: ", ")))")
    }

    static func scope(_ scope: JSONValue?) -> String {
        if scope?["host"]?.boolValue == true { return "host" }
        if let name = scope?["domain"]?.stringValue { return "domain \(name)" }
        if let cpus = scope?["cpus"]?.stringValue { return "CPUs \(cpus)" }
        return "?"
    }

    static func action(_ o: JSONValue) -> String {
        if let khz = o["frequency_khz"]?.intValue { return "\(mhz(khz)) MHz" }
        if let mode = o["mode"]?.stringValue { return mode }
        if let queue = o["queue"]?.stringValue, let (key, value) = o["target"]?.objectFields?.first {
            return "queue \(queue) \(key.replacingSuffix("_ms", with: "")) \(number(value, 2)) ms"
        }
        return "?"
    }

    static func timeLeft(_ seconds: JSONValue?) -> String {
        guard let s = seconds?.doubleValue else { return "until resume" }
        if s >= 3600 { return "\(PlanReport.fixed(s / 3600, 1)) h" }
        if s >= 120 { return "\(PlanReport.fixed(s / 60, 1)) min" }
        return "\(PlanReport.fixed(s, 1)) s"
    }

    static func mhz(_ khz: Int) -> String { PlanReport.fixed(Double(khz) / 1000, 0) }

    static func mhz(_ value: JSONValue?) -> String { value?.intValue.map { mhz($0) } ?? "-" }

    static func number(_ value: JSONValue?, _ digits: Int) -> String {
        value?.doubleValue.map { PlanReport.fixed($0, digits) } ?? "-"
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}
