import GearboxControl
import GearboxCore
import GearboxLinux

/// `gearboxctl inspect --power`: the running agent's `power_model` (docs/formats.md), as a
/// table of configured against learned busy power per frequency; without an agent, the
/// configured (default) curve of this host and why nothing learned is shown.
enum PowerCurveReport {
    static func run(socket: String, json: Bool) throws {
        let model: JSONValue
        do {
            guard case .success(let status) = try ControlClient(socketPath: socket).exchange(.status),
                  let found = status["power_model"], !found.isNull else {
                throw ControlFailure(.failed, "the agent reports no power model")
            }
            model = found
        } catch {
            let message = (error as? ControlFailure)?.message ?? "\(error)"
            model = try configuredOnly(reason: "no learned curve: the agent did not answer (\(message))")
        }
        print(json ? model.rendered(pretty: true) : text(model))
    }

    /// The host's configured curve when no agent answers (the default power model).
    static func configuredOnly(reason: String) throws -> JSONValue {
        let inventory: HostInventory
        do { inventory = try HostDiscovery().inventory() } catch { throw ConfigFailure(message: error.description) }
        let platform = inventory.platform()
        let domains: [JSONValue] = platform.domains.map { d in
            .object([
                ("domains", .array([.string(d.name)])),
                ("points", .array(d.operatingPoints.map { p in
                    .object([("khz", .int(p.frequency.value)), ("configured_watts", .finite(p.busyPower.value)),
                             ("fitted_watts", .null), ("learned_watts", .null)])
                })),
            ])
        }
        return .object([("source", .string("configured")), ("unavailable", .string(reason)),
                        ("zones", .array([.object([("zone", .string("none")), ("used", .bool(false)),
                                                   ("not_used_because", .string(reason)), ("classes", .array(domains))])]))])
    }

    static func text(_ model: JSONValue) -> String {
        var lines = ["plans use the \(model["source"]?.stringValue ?? "?") power model"
            + (model["unavailable"]?.stringValue.map { " (\($0))" } ?? "")]
        for zone in model["zones"]?.arrayItems ?? [] {
            var head = "zone \(zone["zone"]?.stringValue ?? "?"): "
            if zone["used"]?.boolValue == true { head += "learned curve in use" } else {
                head += "learned curve not used: \(zone["not_used_because"]?.stringValue ?? "?")"
            }
            if let r2 = zone["r_squared"]?.doubleValue, let rms = zone["rms_error"]?.doubleValue, let n = zone["intervals"]?.intValue {
                head += "; \(n) intervals, R² \(PlanReport.fixed(r2, 4)), power RMS error \(PlanReport.fixed(rms * 100, 2)) %"
            }
            if let idle = zone["idle_watts"]?.doubleValue { head += "; all idle \(PlanReport.fixed(idle, 2)) W" }
            lines.append(head)
            for cls in zone["classes"]?.arrayItems ?? [] {
                let names = (cls["domains"]?.arrayItems ?? []).compactMap(\.stringValue)
                var title = "  \(names.count == 1 ? names[0] : "\(names.first ?? "?") and \(names.count - 1) more identical domains")"
                if let a = cls["above_idle_watts"]?.doubleValue, let k = cls["dynamic_watts"]?.doubleValue, let e = cls["exponent"]?.doubleValue {
                    title += ": busy = idle + \(PlanReport.fixed(a, 3)) + \(PlanReport.fixed(k, 3)) (f/fmax)^\(PlanReport.fixed(e, 2)) W"
                    if let error = cls["curve_error"]?.doubleValue { title += " (±\(PlanReport.fixed(error * 100, 1)) %)" }
                }
                lines.append(title)
                var table = TextTable(["MHz", "configured W", "fitted W", "in use W"])
                for p in cls["points"]?.arrayItems ?? [] {
                    let cell = { (key: String) in p[key]?.doubleValue.map { PlanReport.fixed($0, 3) } ?? "-" }
                    table.rows.append(["\((p["khz"]?.intValue ?? 0) / 1000)", cell("configured_watts"), cell("fitted_watts"),
                                       p["learned_watts"]?.doubleValue.map { PlanReport.fixed($0, 3) } ?? cell("configured_watts")])
                }
                lines.append(table.rendered().split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            }
        }
        return lines.joined(separator: "\n")
    }
}
