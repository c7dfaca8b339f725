/// A request the agent refused or could not carry out: the `error` object of a control-socket
/// response (`{"ok":false,"error":{"code":...,"message":...}}`).
public struct ControlFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// The machine-readable kind of failure; names are the wire's.
    public enum Code: String, Hashable, Sendable, CaseIterable {
        /// The peer may not make changes (not root, not in the control group).
        case permissionDenied = "permission_denied"
        /// The line is not JSON, or a field is missing or of the wrong type.
        case malformed
        /// `command` names nothing the agent knows.
        case unknownCommand = "unknown_command"
        /// Well-formed but not acceptable: an unknown domain or queue, a frequency out of range.
        case invalid
        /// The agent tried and failed (a reload whose configuration is refused, a timeout).
        case failed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// Whether the fault lies with the request (exit status 2 in gearboxctl) rather than the agent.
    public var isBadInput: Bool { code == .malformed || code == .unknownCommand || code == .invalid }
}
