import GearboxCore

/// An operator's override as it travels over the control socket: what it covers, what it
/// does, and for how long (the agent's `Override` is built from it).
public struct OverrideRequest: Hashable, Sendable {
    /// What the override covers.
    public enum Scope: Hashable, Sendable {
        case host
        case domain(String)
        case cpus([Int])
    }

    /// A mode that pins frequencies or hands them back to the planner.
    public enum Mode: String, Hashable, Sendable, CaseIterable {
        case performance, powersave, auto
    }

    /// What the override does.
    public enum Action: Hashable, Sendable {
        case frequency(Kilohertz)
        case mode(Mode)
        case latencyTarget(queue: String, target: LatencyTarget)
    }

    public var scope: Scope
    public var action: Action
    /// Seconds until it expires by itself; nil: until `resume`.
    public var duration: Double?

    public init(scope: Scope, action: Action, duration: Double?) {
        self.scope = scope
        self.action = action
        self.duration = duration
    }

    /// The wire form of a scope: `{"host":true}`, `{"domain":"policy0"}`, `{"cpus":"0-3"}`.
    public static func json(_ scope: Scope) -> JSONValue {
        switch scope {
        case .host: .object([("host", .bool(true))])
        case .domain(let name): .object([("domain", .string(name))])
        case .cpus(let cpus): .object([("cpus", .string(CPUList.format(cpus)))])
        }
    }

    /// The wire fields of an action: `frequency_khz`, `mode`, or `queue` with `target`.
    public static func fields(_ action: Action) -> [(String, JSONValue)] {
        switch action {
        case .frequency(let f): [("frequency_khz", .int(f.value))]
        case .mode(let mode): [("mode", .string(mode.rawValue))]
        case .latencyTarget(let queue, let target):
            [("queue", .string(queue)), ("target", targetJSON(target))]
        }
    }

    /// A latency target on the wire: `{"p99_ms":20}` (or `mean_ms`, `p95_ms`).
    public static func targetJSON(_ target: LatencyTarget) -> JSONValue {
        .object([("\(target.kind.rawValue)_ms", .finite(target.milliseconds))])
    }

    /// A short human description: "domain policy0: 1200 MHz for 5 s".
    public var summary: String {
        let scopeText: String
        switch scope {
        case .host: scopeText = "host"
        case .domain(let name): scopeText = "domain \(name)"
        case .cpus(let cpus): scopeText = "CPUs \(CPUList.format(cpus))"
        }
        let actionText: String
        switch action {
        case .frequency(let f): actionText = "\(f.value / 1000) MHz"
        case .mode(let mode): actionText = mode.rawValue
        case .latencyTarget(let queue, let target):
            actionText = "queue \(queue) \(target.kind.rawValue) \(target.milliseconds) ms"
        }
        return "\(scopeText): \(actionText)" + (duration.map { " for \($0) s" } ?? " until resume")
    }
}
