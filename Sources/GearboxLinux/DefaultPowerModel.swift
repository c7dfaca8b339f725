import GearboxCore

/// The power model gearbox assumes when no platform file gives one (docs/formats.md, "Default power
/// model"): per CPU, `P_busy(f) = capacity/1024 × (static + dynamic × (f/fmax)^exponent)` and
/// `P_idle = capacity/1024 × idle`.
///
/// The figures are a generic middle ground, not a measurement: 3 W busy at top speed and
/// 0.1 W idle for the most capable CPU. Scaling by capacity keeps the energy per unit of work
/// at top speed equal across core types, so without data gearbox invents no efficiency
/// advantage for any core; only the cubic frequency curve shapes the plan.
public struct DefaultPowerModel: Hashable, Sendable {
    /// Busy watts at any frequency, for a CPU of capacity 1024.
    public var staticWatts: Double = 0.5
    /// Busy watts added at fmax, for a CPU of capacity 1024.
    public var dynamicWatts: Double = 2.5
    public var exponent: Double = 3
    /// Idle watts (deep C-state), for a CPU of capacity 1024.
    public var idleWatts: Double = 0.1

    public init() {}

    public init(staticWatts: Double, dynamicWatts: Double, exponent: Double, idleWatts: Double) {
        self.staticWatts = staticWatts
        self.dynamicWatts = dynamicWatts
        self.exponent = exponent
        self.idleWatts = idleWatts
    }

    /// The parametric model of one CPU of the given capacity.
    public func power(capacity: Int) -> ParametricPower {
        let scale = Double(capacity) / 1024
        return ParametricPower(staticWatts: Self.rounded(staticWatts * scale),
                               dynamicWatts: Self.rounded(dynamicWatts * scale), exponent: exponent)
    }

    /// Idle watts of one CPU of the given capacity.
    public func idle(capacity: Int) -> Watts {
        Watts(Self.rounded(idleWatts * Double(capacity) / 1024))
    }

    /// Four decimals: what the platform file prints, so a saved file plans the same.
    static func rounded(_ watts: Double) -> Double { (watts * 10_000).rounded() / 10_000 }
}

extension HostInventory {
    /// The planner's platform: every usable domain with the default power model, or with the
    /// operating points and idle power of `overrides` for domains it describes (same CPUs).
    public func platform(power: DefaultPowerModel = DefaultPowerModel(), overrides: Platform? = nil) -> Platform {
        Platform(domains: domains.map { domain in
            if let given = overrides?.domains.first(where: { Set($0.cpus) == Set(domain.cpus) }) {
                var merged = given
                merged.transitionLatencyMicroseconds = given.transitionLatencyMicroseconds ?? domain.transitionLatencyMicroseconds
                return merged
            }
            return FrequencyDomain(
                name: domain.name, cpus: domain.cpus, capacity: Double(domain.capacity),
                idlePower: power.idle(capacity: domain.capacity),
                operatingPoints: FrequencyDomain.operatingPoints(
                    frequencies: domain.frequencies, power: power.power(capacity: domain.capacity)),
                transitionLatencyMicroseconds: domain.transitionLatencyMicroseconds)
        })
    }
}
