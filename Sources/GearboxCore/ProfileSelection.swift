/// Which power profile is active, decided as power-profiles-daemon decides it: a profile
/// chosen by a user (or the power source's default), overridden while applications hold a
/// profile: any `performance` hold wins, else any `power-saver` hold. Pure state; the agent
/// keeps it behind a lock and the D-Bus face and the power-source monitor change it.
public struct ProfileSelection: Hashable, Sendable {
    /// An application's request to run a profile while it works (`HoldProfile`).
    public struct Hold: Hashable, Sendable {
        public var cookie: UInt32
        public var profile: PowerProfile
        public var reason: String
        public var applicationID: String
        /// The bus name of the holder: the hold ends when it leaves the bus.
        public var holder: String

        public init(cookie: UInt32, profile: PowerProfile, reason: String, applicationID: String, holder: String) {
            self.cookie = cookie
            self.profile = profile
            self.reason = reason
            self.applicationID = applicationID
            self.holder = holder
        }
    }

    /// Why a hold was refused.
    public enum HoldRefusal: Error, Hashable, Sendable {
        case notHoldable(PowerProfile)
        case tooManyForHolder(Int)
        case tooMany(Int)
    }

    /// The profile chosen by a user or the power source.
    public private(set) var chosen: PowerProfile
    /// True when `chosen` came from a user (it then wins until the power source changes).
    public private(set) var chosenByUser: Bool
    public private(set) var holds: [Hold] = []
    private var nextCookie: UInt32 = 1

    /// Bounds on what bus clients can make the agent keep.
    public static let maximumHoldsPerHolder = 16
    public static let maximumHolds = 256

    public init(chosen: PowerProfile = .balanced, chosenByUser: Bool = false) {
        self.chosen = chosen
        self.chosenByUser = chosenByUser
    }

    /// The profile in force.
    public var active: PowerProfile {
        if holds.contains(where: { $0.profile == .performance }) { return .performance }
        if holds.contains(where: { $0.profile == .powerSaver }) { return .powerSaver }
        return chosen
    }

    /// A user chose a profile: it replaces every hold (as power-profiles-daemon does) and
    /// wins until the power source changes. Returns the holds it ended.
    public mutating func choose(_ profile: PowerProfile) -> [Hold] {
        let ended = holds
        holds = []
        chosen = profile
        chosenByUser = true
        return ended
    }

    /// The power source changed: its default profile replaces the user's choice (nil: the
    /// choice stays, there is no default for that source).
    public mutating func powerSourceChanged(default profile: PowerProfile?) {
        guard let profile else { return }
        chosen = profile
        chosenByUser = false
    }

    /// Adds a hold; only `performance` and `power-saver` can be held.
    public mutating func hold(
        _ profile: PowerProfile, reason: String, applicationID: String, holder: String
    ) throws(HoldRefusal) -> Hold {
        guard profile != .balanced else { throw .notHoldable(profile) }
        guard holds.count < Self.maximumHolds else { throw .tooMany(Self.maximumHolds) }
        guard holds.count(where: { $0.holder == holder }) < Self.maximumHoldsPerHolder else {
            throw .tooManyForHolder(Self.maximumHoldsPerHolder)
        }
        while nextCookie == 0 || holds.contains(where: { $0.cookie == nextCookie }) { nextCookie &+= 1 }
        let added = Hold(cookie: nextCookie, profile: profile, reason: reason, applicationID: applicationID, holder: holder)
        nextCookie &+= 1
        holds.append(added)
        return added
    }

    /// Ends the hold with `cookie` when `holder` owns it; nil when there is no such hold.
    public mutating func release(cookie: UInt32, holder: String) -> Hold? {
        guard let i = holds.firstIndex(where: { $0.cookie == cookie && $0.holder == holder }) else { return nil }
        return holds.remove(at: i)
    }

    /// Ends every hold of `holder` (it left the bus).
    public mutating func releaseAll(holder: String) -> [Hold] {
        let ended = holds.filter { $0.holder == holder }
        holds.removeAll { $0.holder == holder }
        return ended
    }
}

/// What `/sys/class/power_supply` says at one moment.
public struct PowerSupplyReading: Hashable, Sendable {
    /// Some mains adapter (type `Mains`, `USB`...) is online; nil when the host has none.
    public var externalPower: Bool?
    /// The batteries' charge in percent (mean over batteries); nil without a battery.
    public var batteryPercent: Double?

    public init(externalPower: Bool?, batteryPercent: Double?) {
        self.externalPower = externalPower
        self.batteryPercent = batteryPercent
    }
}

/// Where the power comes from, as far as profiles care.
public enum PowerSource: String, Hashable, Sendable {
    case ac
    case battery
    case lowBattery = "low-battery"
}

/// Turns readings into power-source changes, with hysteresis: the battery becomes low at or
/// below the threshold and stops being low only `hysteresisPercent` above it, so a charge
/// that wobbles around the threshold switches once. A host without a battery is on AC.
public struct PowerSourceTracker: Hashable, Sendable {
    public var lowBatteryPercent: Double
    public var hysteresisPercent: Double
    public private(set) var source: PowerSource?

    public init(lowBatteryPercent: Double, hysteresisPercent: Double = 5) {
        self.lowBatteryPercent = lowBatteryPercent
        self.hysteresisPercent = hysteresisPercent
    }

    /// Folds in a reading; returns the new source when it changed (the first reading always
    /// gives one).
    public mutating func observe(_ reading: PowerSupplyReading) -> PowerSource? {
        let next = classify(reading)
        guard next != source else { return nil }
        source = next
        return next
    }

    private func classify(_ reading: PowerSupplyReading) -> PowerSource {
        guard let percent = reading.batteryPercent else { return .ac }
        // A battery with no adapter reported (some desktops with a UPS) counts as on AC.
        if reading.externalPower ?? true { return .ac }
        if source == .lowBattery { return percent >= lowBatteryPercent + hysteresisPercent ? .battery : .lowBattery }
        return percent <= lowBatteryPercent ? .lowBattery : .battery
    }
}
