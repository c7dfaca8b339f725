import GearboxCore

/// One request on the control socket: a JSON object on one line (docs/formats.md, "Control socket protocol").
///
///     {"command":"status"}   {"command":"plan"}   {"command":"explain"}
///     {"command":"override","scope":{"domain":"policy0"},"frequency_khz":1200000,"duration_s":5}
///     {"command":"override","scope":{"cpus":"0-3"},"mode":"performance"}
///     {"command":"override","queue":"web","target":{"p99_ms":20},"duration_s":60}
///     {"command":"resume"}   {"command":"reload"}   {"command":"set_profile","profile":"power-saver"}
public enum ControlRequest: Hashable, Sendable {
    case status
    case plan
    case explain
    case override(OverrideRequest)
    case resume
    case reload
    /// Chooses a power profile, as a user does over D-Bus (docs/laptops.md).
    case setProfile(PowerProfile)

    /// The command names, as the wire spells them.
    public static let commands = ["status", "plan", "explain", "override", "resume", "reload", "set_profile"]

    /// Whether the request changes the agent's policy (and so needs root or the control group).
    public var changesPolicy: Bool {
        switch self {
        case .status, .plan, .explain: false
        case .override, .resume, .reload, .setProfile: true
        }
    }

    /// The command's name on the wire.
    public var command: String {
        switch self {
        case .status: "status"
        case .plan: "plan"
        case .explain: "explain"
        case .override: "override"
        case .resume: "resume"
        case .reload: "reload"
        case .setProfile: "set_profile"
        }
    }

    /// The request as one JSON object (what gearboxctl sends).
    public func json() -> JSONValue {
        if case .setProfile(let p) = self { return .object([("command", .string(command)), ("profile", .string(p.name))]) }
        guard case .override(let o) = self else { return .object([("command", .string(command))]) }
        var fields: [(String, JSONValue)] = [("command", .string(command)), ("scope", OverrideRequest.json(o.scope))]
        fields += OverrideRequest.fields(o.action)
        if let duration = o.duration { fields.append(("duration_s", .finite(duration))) }
        return .object(fields)
    }

    /// Decodes one line: `Envelope(line:)` then `open()`. Errors name the field at fault:
    /// `malformed` for JSON and shapes, `unknown_command` for a command the agent does not know.
    public static func decode(line: String) throws(ControlFailure) -> ControlRequest {
        try Envelope(line: line).open()
    }

    /// The names of the commands that change policy (root or the control group only).
    public static let policyCommands: Set<String> = ["override", "resume", "reload", "set_profile"]

    /// A request line read only as far as its command: enough to decide whether the peer may
    /// send it. Parsing is linear in the line, which the server has already bounded; the
    /// command's own fields (an override's cpulist, which expands to a CPU set) are decoded
    /// only by `open()`, so a peer who may not make changes costs no more than the parse.
    public struct Envelope: Sendable {
        /// The command's name, one of `ControlRequest.commands`.
        public let command: String
        private let value: JSONValue
        private let fields: [(String, JSONValue)]

        /// Parses `line` and reads its `command`; throws `malformed` for anything that is not
        /// an object with a string `command`, `unknown_command` for a name not in `commands`.
        public init(line: String) throws(ControlFailure) {
            do {
                value = try JSONParser.parse(line)
            } catch {
                throw ControlFailure(.malformed, "request is \(error.description)")
            }
            guard let fields = value.objectFields else {
                throw ControlFailure(.malformed, "request must be a JSON object, got \(value.typeName)")
            }
            self.fields = fields
            guard let commandValue = value["command"] else {
                throw ControlFailure(.malformed, "field \"command\" is missing; expected one of \(commands.joined(separator: ", "))")
            }
            guard let command = commandValue.stringValue else {
                throw ControlFailure(.malformed, "field \"command\" must be a string, got \(commandValue.typeName)")
            }
            guard commands.contains(command) else {
                throw ControlFailure(.unknownCommand, "unknown command \"\(command)\"; expected one of \(commands.joined(separator: ", "))")
            }
            self.command = command
        }

        /// Whether the command changes the agent's policy (and so needs root or the control group).
        public var changesPolicy: Bool { policyCommands.contains(command) }

        /// `set_profile`'s `profile`: one of the three power profiles.
        private func profile() throws(ControlFailure) -> PowerProfile {
            try OverrideDecoding.refuseUnknown(fields, allowed: ["command", "profile"], command: command)
            let names = PowerProfile.allCases.map(\.name).joined(separator: ", ")
            guard let field = value["profile"] else { throw ControlFailure(.malformed, "field \"profile\" is missing; expected one of \(names)") }
            guard let name = field.stringValue else { throw ControlFailure(.malformed, "field \"profile\" must be a string, got \(field.typeName)") }
            guard let profile = PowerProfile(name: name) else { throw ControlFailure(.invalid, "unknown profile \"\(name)\"; expected one of \(names)") }
            return profile
        }

        /// Decodes the command's fields into the request.
        public func open() throws(ControlFailure) -> ControlRequest {
            let simple: [String: ControlRequest] = ["status": .status, "plan": .plan, "explain": .explain, "resume": .resume, "reload": .reload]
            if let request = simple[command] {
                try OverrideDecoding.refuseUnknown(fields, allowed: ["command"], command: command)
                return request
            }
            if command == "set_profile" { return .setProfile(try profile()) }
            return .override(try OverrideDecoding.decode(value, fields: fields))
        }
    }
}
