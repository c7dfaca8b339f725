/// One response on the control socket: `{"ok":true, ...document fields}` or
/// `{"ok":false,"error":{"code":...,"message":...}}`, one JSON object per line.
public enum ControlResponse: Hashable, Sendable {
    case success(JSONValue)
    case failure(ControlFailure)

    /// The response as one JSON object. A document that is an object has its fields after
    /// `"ok":true`; any other value goes under `"result"`.
    public func json() -> JSONValue {
        switch self {
        case .success(let document):
            if let fields = document.objectFields {
                return .object([("ok", .bool(true))] + fields.filter { $0.0 != "ok" })
            }
            return .object([("ok", .bool(true)), ("result", document)])
        case .failure(let failure):
            return .object([
                ("ok", .bool(false)),
                ("error", .object([("code", .string(failure.code.rawValue)), ("message", .string(failure.message))])),
            ])
        }
    }

    /// The response as the line the server writes (compact JSON and a newline).
    public var line: String { json().rendered() + "\n" }

    /// Reads a response line from the agent. An answer that is not a response object is a
    /// `failed` failure: the peer is not gearboxd, or it broke.
    public static func decode(line: String) -> ControlResponse {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            return .failure(ControlFailure(.failed, "the agent's answer is \(error.description)"))
        }
        guard let ok = value["ok"]?.boolValue else {
            return .failure(ControlFailure(.failed, "the agent's answer has no \"ok\" field"))
        }
        if ok {
            return .success(.object((value.objectFields ?? []).filter { $0.0 != "ok" }))
        }
        let error = value["error"]
        let code = error?["code"]?.stringValue.flatMap(ControlFailure.Code.init(rawValue:)) ?? .failed
        let message = error?["message"]?.stringValue ?? "the agent refused the request without a message"
        return .failure(ControlFailure(code, message))
    }
}
