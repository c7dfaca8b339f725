import GearboxCore

/// The `[profile]` part of the agent configuration: what each power profile means to the
/// planner, which profile each power source starts, and whether the power-profiles D-Bus
/// API is served (docs/laptops.md).
public struct ProfileConfiguration: Hashable, Sendable {
    /// Planning settings per profile (`[profile.power-saver]`, `[profile.balanced]`,
    /// `[profile.performance]`).
    public var settings: [PowerProfile: ProfileSettings] = Dictionary(
        uniqueKeysWithValues: PowerProfile.allCases.map { ($0, ProfileSettings.defaults(for: $0)) })
    /// The profile each power source switches to (`[profile.ac] profile`,
    /// `[profile.battery] profile`, `[profile.battery] low_profile`); nil leaves the profile as it is.
    public var onAC: PowerProfile? = .balanced
    public var onBattery: PowerProfile? = .balanced
    public var onLowBattery: PowerProfile? = .powerSaver
    /// At or below this charge the battery is low (`[profile.battery] low_percent`).
    public var lowBatteryPercent: Double = 20
    /// Where the power supplies are read; empty disables power-source switching.
    public var powerSupplyDirectory: String = "/sys/class/power_supply"
    /// Serve `org.freedesktop.UPower.PowerProfiles` and `net.hadess.PowerProfiles` on the system bus.
    public var dbus = true

    public init() {}

    public func settings(for profile: PowerProfile) -> ProfileSettings {
        settings[profile] ?? ProfileSettings.defaults(for: profile)
    }

    /// The profile a power source switches to; nil: no default for it.
    public func profile(for source: PowerSource) -> PowerProfile? {
        switch source {
        case .ac: onAC
        case .battery: onBattery
        case .lowBattery: onLowBattery ?? onBattery
        }
    }
}

extension AgentConfigurationFile {
    static func readProfiles(_ r: inout TableReader, into c: inout ProfileConfiguration) throws(ConfigError) {
        if let s = try r.string("power_supply") { c.powerSupplyDirectory = s }
        if let b = try r.bool("dbus") { c.dbus = b }
        if var ac = try r.table("ac") {
            c.onAC = try profileName(&ac, "profile") ?? c.onAC
            try ac.finish()
        }
        if var battery = try r.table("battery") {
            c.onBattery = try profileName(&battery, "profile") ?? c.onBattery
            c.onLowBattery = try profileName(&battery, "low_profile") ?? c.onLowBattery
            if let p = try battery.double("low_percent") {
                guard p >= 0 && p <= 100 else { throw battery.error("low_percent", "must be between 0 and 100, got \(p)") }
                c.lowBatteryPercent = p
            }
            try battery.finish()
        }
        for profile in PowerProfile.allCases {
            guard var t = try r.table(profile.name) else { continue }
            c.settings[profile] = try readSettings(&t, base: c.settings(for: profile))
        }
        try r.finish()
    }

    private static func profileName(_ r: inout TableReader, _ key: String) throws(ConfigError) -> PowerProfile? {
        guard let name = try r.string(key) else { return nil }
        guard let profile = PowerProfile(name: name) else {
            throw r.error(key, "must be one of \(PowerProfile.allCases.map(\.name).joined(separator: ", ")), got \"\(name)\"")
        }
        return profile
    }

    private static func readSettings(_ r: inout TableReader, base: ProfileSettings) throws(ConfigError) -> ProfileSettings {
        var s = base
        if let f = try r.double("latency_factor") {
            guard f >= 0.1 && f <= 10 else { throw r.error("latency_factor", "must be between 0.1 and 10, got \(f)") }
            s.latencyFactor = f
        }
        if let rho = try r.double("max_utilization") {
            guard rho > 0 && rho < 1 else { throw r.error("max_utilization", "must be in (0, 1), got \(rho)") }
            s.maxUtilization = rho
        }
        if let b = try r.bool("boost") { s.boost = b }
        if let epp = try r.string("epp") {
            guard let e = EnergyPreference(rawValue: epp) else {
                throw r.error("epp", "must be one of \(EnergyPreference.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(epp)\"")
            }
            s.energyPreference = e
        }
        if let b = try r.bool("top_speed") { s.topSpeed = b }
        try r.finish()
        return s
    }
}
