import GearboxControl
import GearboxCore

/// What the control socket asks of the agent. `ControlServer` decodes a request, checks the
/// peer's permission for changes, calls one of these, and writes the answer back; the agent
/// (`AgentService`) implements them over its own state. Documents are JSON objects whose
/// fields follow `"ok":true` in the response; `StatusDocument` and `ExplainDocument` build them.
/// A thrown `ControlFailure` becomes the response's `error` object (`failed` when the agent
/// cannot answer, e.g. nothing to explain before the first plan). Non-throwing implementations
/// satisfy these requirements too.
public protocol ControlHandling: Sendable {
    /// The current plan, estimates, measured latency, overrides with time left, mode and
    /// per-domain frequency (`StatusDocument.json`).
    func statusDocument() async throws(ControlFailure) -> JSONValue
    /// The plan in force, as `{"plan": PlanDocument}` (the shape of `plan --json`).
    func planDocument() async throws(ControlFailure) -> JSONValue
    /// Per queue the binding constraint and the marginal watts per ms of latency
    /// (`ExplainInputs.document()`; its re-plans belong off the control loop).
    func explainDocument() async throws(ControlFailure) -> JSONValue
    /// Adds an override; throws `invalid` for a scope or queue the host does not have
    /// (`OverrideValidation.check`). Returns `{"override": override.json(now:)}`, which
    /// gearboxctl prints (id, scope, action, time left).
    func addOverride(scope: Override.Scope, action: Override.Action, duration: Double?) async throws(ControlFailure) -> JSONValue
    /// Drops every override; returns `{"removed": N}`.
    func resume() async throws(ControlFailure) -> JSONValue
    /// Re-reads the configuration; throws `failed` with the file, line and field when it is refused.
    func reload() async throws(ControlFailure) -> JSONValue
    /// Chooses a power profile as a user does over D-Bus; returns `{"profile": name}`.
    func setProfile(_ profile: PowerProfile) async throws(ControlFailure) -> JSONValue
}

extension ControlHandling {
    public func setProfile(_ profile: PowerProfile) async throws(ControlFailure) -> JSONValue {
        throw ControlFailure(.failed, "this agent does not follow power profiles")
    }
}
