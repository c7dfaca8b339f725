import GearboxCore

/// An operator's override of the plan (issue 6): pin a scope to a frequency or a mode, or set a
/// queue's latency target, for a while. Overrides survive a reload, not a restart.
public struct Override: Hashable, Sendable {
    public enum Scope: Hashable, Sendable {
        case host
        case domain(String)
        /// CPUs share their domain's frequency, so pinning CPUs pins their whole domains.
        case cpus([Int])
    }

    public enum Action: Hashable, Sendable {
        case frequency(Kilohertz)
        case performance
        case powersave
        /// Back to the planner's choice for the scope (drops earlier pins on it).
        case auto
        case latencyTarget(queue: String, target: LatencyTarget)
    }

    public var id: Int
    public var scope: Scope
    public var action: Action
    /// Seconds on the agent's clock when it expires; nil: until `resume`.
    public var expiresAt: Double?

    public init(id: Int, scope: Scope, action: Action, expiresAt: Double?) {
        self.id = id
        self.scope = scope
        self.action = action
        self.expiresAt = expiresAt
    }

    /// Names of the domains the scope touches.
    public func domains(on platform: Platform) -> [String] {
        switch scope {
        case .host: return platform.domains.map(\.name)
        case .domain(let name): return platform.domains.contains { $0.name == name } ? [name] : []
        case .cpus(let cpus): return platform.domains.filter { !Set($0.cpus).isDisjoint(with: cpus) }.map(\.name)
        }
    }
}

/// The overrides in force, applied to workloads (targets) and plans (pins), in order given.
public struct OverrideSet: Hashable, Sendable {
    public private(set) var active: [Override] = []
    private var nextID = 1

    public init() {}

    public mutating func add(scope: Override.Scope, action: Override.Action, expiresAt: Double?) -> Override {
        let override = Override(id: nextID, scope: scope, action: action, expiresAt: expiresAt)
        nextID += 1
        active.append(override)
        return override
    }

    /// Drops every override; returns how many there were.
    public mutating func removeAll() -> Int {
        defer { active.removeAll() }
        return active.count
    }

    /// Removes and returns the overrides whose time is up at `now`.
    public mutating func expire(now: Double) -> [Override] {
        let expired = active.filter { ($0.expiresAt ?? .infinity) <= now }
        active.removeAll { ($0.expiresAt ?? .infinity) <= now }
        return expired
    }

    /// The workload with overridden latency targets.
    public func adjust(_ workload: Workload) -> Workload {
        var adjusted = workload
        for o in active {
            guard case .latencyTarget(let name, let target) = o.action else { continue }
            for i in adjusted.queues.indices where adjusted.queues[i].name == name {
                adjusted.queues[i].target = target
            }
        }
        return adjusted
    }

    /// Per domain, the frequency an override pins it to (last override wins; `auto` unpins).
    public func pins(on platform: Platform) -> [String: Kilohertz] {
        var pins: [String: Kilohertz] = [:]
        for o in active {
            for name in o.domains(on: platform) {
                guard let domain = platform.domains.first(where: { $0.name == name }) else { continue }
                switch o.action {
                case .frequency(let f): pins[name] = Self.nearest(f, in: domain)
                case .performance: pins[name] = domain.maxFrequency
                case .powersave: pins[name] = domain.minFrequency
                case .auto: pins[name] = nil
                case .latencyTarget: break
                }
            }
        }
        return pins
    }

    /// The lowest operating point at or above `f` (the top one when `f` is above them all):
    /// an operator asking for a speed gets at least that speed.
    static func nearest(_ f: Kilohertz, in domain: FrequencyDomain) -> Kilohertz {
        domain.operatingPoints.first { $0.frequency >= f }?.frequency ?? domain.maxFrequency
    }

    /// The plan with pinned domains at their pinned frequency (a pure speed).
    public func apply(to plan: Plan, on platform: Platform) -> Plan {
        let pins = self.pins(on: platform)
        guard !pins.isEmpty else { return plan }
        var pinned = plan
        for i in pinned.domains.indices {
            guard let f = pins[pinned.domains[i].name] else { continue }
            pinned.domains[i].low = f
            pinned.domains[i].high = f
            pinned.domains[i].pHigh = 1
            pinned.domains[i].timeShareHigh = 1
            pinned.domains[i].ditherPeriod = nil
            pinned.domains[i].fallbackReason = "pinned by an override"
        }
        return pinned
    }
}
