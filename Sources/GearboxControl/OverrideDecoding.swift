import GearboxCore

/// Reads an `override` request's fields, with one clear message per mistake.
enum OverrideDecoding {
    static let fieldNames = ["command", "scope", "frequency_khz", "mode", "queue", "target", "duration_s"]

    static func refuseUnknown(_ fields: [(String, JSONValue)], allowed: [String], command: String) throws(ControlFailure) {
        if let unknown = fields.first(where: { !allowed.contains($0.0) }) {
            throw ControlFailure(.malformed, "unknown field \"\(unknown.0)\" for command \"\(command)\"; expected \(allowed.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
    }

    static func decode(_ value: JSONValue, fields: [(String, JSONValue)]) throws(ControlFailure) -> OverrideRequest {
        try refuseUnknown(fields, allowed: fieldNames, command: "override")
        let action = try decodeAction(value)
        let scope: OverrideRequest.Scope
        if let scopeValue = value["scope"] {
            scope = try decodeScope(scopeValue)
        } else if case .latencyTarget = action {
            // A queue's target is the queue's wherever it runs: the scope adds nothing.
            scope = .host
        } else {
            throw ControlFailure(.malformed, "field \"scope\" is missing; expected {\"host\":true}, {\"domain\":NAME} or {\"cpus\":\"LIST\"}")
        }
        var duration: Double?
        if let d = value["duration_s"], !d.isNull {
            guard let seconds = d.doubleValue else {
                throw ControlFailure(.malformed, "field \"duration_s\" must be a number of seconds, got \(d.typeName)")
            }
            guard seconds > 0, seconds <= 366 * 86_400 else {
                throw ControlFailure(.invalid, "field \"duration_s\" must be more than 0 and at most a year, got \(seconds)")
            }
            duration = seconds
        }
        return OverrideRequest(scope: scope, action: action, duration: duration)
    }

    static func decodeScope(_ value: JSONValue) throws(ControlFailure) -> OverrideRequest.Scope {
        let expected = "expected {\"host\":true}, {\"domain\":NAME} or {\"cpus\":\"LIST\"}"
        guard let fields = value.objectFields, fields.count == 1, let (key, inner) = fields.first else {
            throw ControlFailure(.malformed, "field \"scope\" must be an object with one field; \(expected)")
        }
        switch key {
        case "host":
            guard inner.boolValue == true else { throw ControlFailure(.malformed, "field \"scope.host\" must be true") }
            return .host
        case "domain":
            guard let name = inner.stringValue, !name.isEmpty else {
                throw ControlFailure(.malformed, "field \"scope.domain\" must be a domain name (a non-empty string), got \(inner.typeName)")
            }
            return .domain(name)
        case "cpus":
            guard let text = inner.stringValue else {
                throw ControlFailure(.malformed, "field \"scope.cpus\" must be a cpulist string such as \"0-3,8\", got \(inner.typeName)")
            }
            let cpus: [Int]
            do throws(CPUList.ParseError) {
                cpus = try CPUList.parse(text)
            } catch {
                throw ControlFailure(.malformed, "field \"scope.cpus\": \(error.description)")
            }
            guard !cpus.isEmpty else { throw ControlFailure(.malformed, "field \"scope.cpus\" is empty") }
            return .cpus(cpus)
        default:
            throw ControlFailure(.malformed, "unknown field \"scope.\(key)\"; \(expected)")
        }
    }

    static func decodeAction(_ value: JSONValue) throws(ControlFailure) -> OverrideRequest.Action {
        let present = ["frequency_khz", "mode", "queue"].filter { value[$0] != nil }
        guard present.count == 1 else {
            let which = present.isEmpty ? "none" : present.map { "\"\($0)\"" }.joined(separator: " and ")
            throw ControlFailure(.malformed, "an override needs exactly one of \"frequency_khz\", \"mode\" or \"queue\" (with \"target\"); got \(which)")
        }
        if value["target"] != nil && present[0] != "queue" {
            throw ControlFailure(.malformed, "field \"target\" belongs with \"queue\"")
        }
        switch present[0] {
        case "frequency_khz":
            let f = value["frequency_khz"]!
            guard let khz = f.intValue else {
                throw ControlFailure(.malformed, "field \"frequency_khz\" must be a whole number of kHz, got \(f.doubleValue.map { "\($0)" } ?? f.typeName)")
            }
            guard khz > 0 else { throw ControlFailure(.invalid, "field \"frequency_khz\" must be positive, got \(khz)") }
            if let refusal = InputLimits.frequencyKilohertz.refusal(Double(khz)) {
                throw ControlFailure(.invalid, "field \"frequency_khz\" \(refusal)\(InputLimits.megahertzHint(kilohertz: Double(khz)))")
            }
            return .frequency(Kilohertz(khz))
        case "mode":
            let m = value["mode"]!
            let names = OverrideRequest.Mode.allCases.map(\.rawValue).joined(separator: ", ")
            guard let text = m.stringValue else { throw ControlFailure(.malformed, "field \"mode\" must be a string (\(names)), got \(m.typeName)") }
            guard let mode = OverrideRequest.Mode(rawValue: text) else {
                throw ControlFailure(.malformed, "field \"mode\" is \"\(text)\"; expected one of \(names)")
            }
            return .mode(mode)
        default:
            let q = value["queue"]!
            guard let queue = q.stringValue, !queue.isEmpty else {
                throw ControlFailure(.malformed, "field \"queue\" must be a queue name (a non-empty string), got \(q.typeName)")
            }
            guard let targetValue = value["target"] else {
                throw ControlFailure(.malformed, "field \"target\" is missing; expected e.g. {\"p99_ms\":20}")
            }
            return .latencyTarget(queue: queue, target: try decodeTarget(targetValue))
        }
    }

    static func decodeTarget(_ value: JSONValue) throws(ControlFailure) -> LatencyTarget {
        let expected = "expected one of {\"mean_ms\":N}, {\"p95_ms\":N}, {\"p99_ms\":N}"
        guard let fields = value.objectFields, fields.count == 1, let (key, inner) = fields.first else {
            throw ControlFailure(.malformed, "field \"target\" must be an object with one field; \(expected)")
        }
        guard key.hasSuffix("_ms"), let kind = LatencyKind(rawValue: String(key.dropLast(3))) else {
            throw ControlFailure(.malformed, "unknown field \"target.\(key)\"; \(expected)")
        }
        guard let ms = inner.doubleValue else {
            throw ControlFailure(.malformed, "field \"target.\(key)\" must be a number of milliseconds, got \(inner.typeName)")
        }
        guard ms > 0, ms.isFinite else { throw ControlFailure(.invalid, "field \"target.\(key)\" must be positive, got \(ms)") }
        if let refusal = InputLimits.targetMilliseconds.refusal(ms) {
            throw ControlFailure(.invalid, "field \"target.\(key)\" \(refusal)")
        }
        return LatencyTarget(kind: kind, seconds: ms / 1000)
    }
}
