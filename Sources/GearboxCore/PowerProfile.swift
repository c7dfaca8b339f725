/// The three power profiles of the power-profiles-daemon D-Bus API (GNOME's and KDE's power
/// menus), and what each means to the planner (docs/laptops.md).
public enum PowerProfile: String, CaseIterable, Hashable, Sendable {
    case powerSaver = "power-saver"
    case balanced
    case performance

    /// The profile named `name`, or nil; names are as the D-Bus API spells them.
    public init?(name: String) { self.init(rawValue: name) }

    public var name: String { rawValue }
}

/// An `energy_performance_preference` value, from the most power-saving to the most
/// performance-leaning (the order of the kernel's list; `default` is left out: its meaning is
/// the firmware's).
public enum EnergyPreference: String, CaseIterable, Hashable, Sendable, Comparable {
    case power
    case balancePower = "balance_power"
    case balancePerformance = "balance_performance"
    case performance

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }

    /// The preference that best matches running at `fraction` of the way from the lowest to
    /// the highest frequency: the hardware picks speeds inside the limits, and the preference
    /// tells it which end to lean to. Quarters of the range, lowest quarter `power`.
    public static func matching(fraction: Double) -> EnergyPreference {
        guard fraction.isFinite else { return .balancePerformance }
        let f = min(max(fraction, 0), 1)
        let index = min(Int((f * 4).rounded(.down)), allCases.count - 1)
        return allCases[index]
    }
}

/// What a power profile means to the planner. Defaults in `defaults(for:)`; every field can
/// be set in `[profile.<name>]` of the agent configuration.
public struct ProfileSettings: Hashable, Sendable {
    /// Every latency target is multiplied by this before planning (above 1 relaxes them).
    public var latencyFactor: Double
    /// The highest utilisation a plan may give a CPU; the agent's `max_utilization` when nil
    /// (the lower of the two applies).
    public var maxUtilization: Double?
    /// Whether boost (turbo) frequencies may be used.
    public var boost: Bool
    /// The most performance-leaning energy-performance preference that may be written.
    public var energyPreference: EnergyPreference
    /// Every domain at its top frequency: no energy-aware planning at all.
    public var topSpeed: Bool

    public init(latencyFactor: Double, maxUtilization: Double?, boost: Bool,
                energyPreference: EnergyPreference, topSpeed: Bool) {
        self.latencyFactor = latencyFactor
        self.maxUtilization = maxUtilization
        self.boost = boost
        self.energyPreference = energyPreference
        self.topSpeed = topSpeed
    }

    /// power-saver: targets twice as long, no boost, EPP at most `balance_power`;
    /// balanced: targets as written, boost allowed, EPP at most `balance_performance`;
    /// performance: targets halved, utilisation at most 0.8, boost, EPP up to `performance`.
    public static func defaults(for profile: PowerProfile) -> ProfileSettings {
        switch profile {
        case .powerSaver:
            ProfileSettings(latencyFactor: 2, maxUtilization: nil, boost: false, energyPreference: .balancePower, topSpeed: false)
        case .balanced:
            ProfileSettings(latencyFactor: 1, maxUtilization: nil, boost: true, energyPreference: .balancePerformance, topSpeed: false)
        case .performance:
            ProfileSettings(latencyFactor: 0.5, maxUtilization: 0.8, boost: true, energyPreference: .performance, topSpeed: false)
        }
    }
}

/// The profile a plan was made under and what it lets the actuators do (boost, EPP).
public struct PlanProfile: Hashable, Sendable {
    public var profile: PowerProfile
    public var boost: Bool
    public var energyPreference: EnergyPreference

    public init(profile: PowerProfile, boost: Bool, energyPreference: EnergyPreference) {
        self.profile = profile
        self.boost = boost
        self.energyPreference = energyPreference
    }

    public init(_ profile: PowerProfile, settings: ProfileSettings) {
        self.init(profile: profile, boost: settings.boost, energyPreference: settings.energyPreference)
    }
}

extension Workload {
    /// The workload with every latency target multiplied by `factor` (a profile's
    /// `latencyFactor`). A tightened target the CPUs cannot meet makes the plan infeasible
    /// (top speed where it binds), as any unmeetable target does.
    public func scalingTargets(by factor: Double) -> Workload {
        guard factor.isFinite, factor > 0, factor != 1 else { return self }
        var scaled = self
        for i in scaled.queues.indices {
            let t = scaled.queues[i].target
            scaled.queues[i].target = LatencyTarget(kind: t.kind, seconds: t.seconds * factor)
        }
        return scaled
    }
}
