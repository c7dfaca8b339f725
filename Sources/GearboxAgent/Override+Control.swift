import GearboxControl
import GearboxCore

extension Override.Scope {
    /// The agent's scope for a request's.
    public init(_ scope: OverrideRequest.Scope) {
        switch scope {
        case .host: self = .host
        case .domain(let name): self = .domain(name)
        case .cpus(let cpus): self = .cpus(cpus)
        }
    }

    /// The request's scope for this one (the wire form).
    public var request: OverrideRequest.Scope {
        switch self {
        case .host: .host
        case .domain(let name): .domain(name)
        case .cpus(let cpus): .cpus(cpus)
        }
    }
}

extension Override.Action {
    /// The agent's action for a request's.
    public init(_ action: OverrideRequest.Action) {
        switch action {
        case .frequency(let f): self = .frequency(f)
        case .mode(.performance): self = .performance
        case .mode(.powersave): self = .powersave
        case .mode(.auto): self = .auto
        case .latencyTarget(let queue, let target): self = .latencyTarget(queue: queue, target: target)
        }
    }

    /// The request's action for this one (the wire form).
    public var request: OverrideRequest.Action {
        switch self {
        case .frequency(let f): .frequency(f)
        case .performance: .mode(.performance)
        case .powersave: .mode(.powersave)
        case .auto: .mode(.auto)
        case .latencyTarget(let queue, let target): .latencyTarget(queue: queue, target: target)
        }
    }
}

extension Override {
    /// The override as status shows it: id, scope, action fields, seconds left (null: until
    /// resume). With `platform`, a pin also says what each domain of its scope really runs
    /// (`pinned_khz`): a requested frequency between operating points runs at the next one up.
    public func json(now: Double, platform: Platform? = nil) -> JSONValue {
        var fields: [(String, JSONValue)] = [("id", .int(id)), ("scope", OverrideRequest.json(scope.request))]
        fields += OverrideRequest.fields(action.request)
        if let platform, let pinned = pinnedFrequencies(on: platform) {
            fields.append(("pinned_khz", .object(pinned.map { ($0.domain, .int($0.frequency.value)) })))
        }
        fields.append(("expires_in_s", expiresAt.map { .finite(max(0, $0 - now)) } ?? .null))
        return .object(fields)
    }

    /// The frequency this override alone pins each domain of its scope to, in platform order;
    /// nil for an action that pins nothing (`auto`, a latency target).
    public func pinnedFrequencies(on platform: Platform) -> [(domain: String, frequency: Kilohertz)]? {
        let names = Set(domains(on: platform))
        let inScope = platform.domains.filter { names.contains($0.name) }
        switch action {
        case .frequency(let f): return inScope.map { ($0.name, OverrideSet.nearest(f, in: $0)) }
        case .performance: return inScope.map { ($0.name, $0.maxFrequency) }
        case .powersave: return inScope.map { ($0.name, $0.minFrequency) }
        case .auto, .latencyTarget: return nil
        }
    }
}

/// Checks an override against the host and its queues before the agent accepts it, so that a
/// typo is refused with a message instead of silently pinning nothing.
public enum OverrideValidation {
    /// Throws `invalid` naming what does not exist: a domain, CPUs, a queue, or a frequency
    /// outside every domain's range in scope.
    public static func check(scope: Override.Scope, action: Override.Action, platform: Platform, queueNames: [String]) throws(ControlFailure) {
        switch scope {
        case .host: break
        case .domain(let name):
            guard platform.domains.contains(where: { $0.name == name }) else {
                let known = platform.domains.map(\.name).joined(separator: ", ")
                throw ControlFailure(.invalid, "no frequency domain named \"\(name)\"; this host has \(known)")
            }
        case .cpus(let cpus):
            let missing = cpus.filter { platform.domainIndex(ofCPU: $0) == nil }
            guard missing.isEmpty else {
                throw ControlFailure(.invalid, "CPUs \(CPUList.format(missing)) are not governed here; this host has CPUs \(CPUList.format(platform.cpus))")
            }
        }
        switch action {
        case .frequency(let f):
            let domains = Override(id: 0, scope: scope, action: action, expiresAt: nil).domains(on: platform)
            for name in domains {
                guard let domain = platform.domains.first(where: { $0.name == name }) else { continue }
                guard f >= domain.minFrequency && f <= domain.maxFrequency else {
                    throw ControlFailure(.invalid, "\(f.value) kHz is outside domain \(name)'s range \(domain.minFrequency.value)-\(domain.maxFrequency.value) kHz")
                }
            }
        case .latencyTarget(let queue, _):
            guard queueNames.contains(queue) else {
                let known = queueNames.isEmpty ? "no queues are configured (kernel-only mode)" : "the queues are \(queueNames.joined(separator: ", "))"
                throw ControlFailure(.invalid, "no queue named \"\(queue)\"; \(known)")
            }
        case .performance, .powersave, .auto: break
        }
    }
}
