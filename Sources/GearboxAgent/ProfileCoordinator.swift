#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GearboxConfig
import GearboxCore
import GearboxLinux
import Logging
import Synchronization

/// Which power profile is active and why, shared by the D-Bus face (its own thread), the
/// power-source monitor and the control loop. Every change of the active profile is logged
/// and handed to the loop (`onChange`), which re-plans; a user's choice is saved in the state
/// directory, so it survives a restart while the power source stays the same.
public final class ProfileCoordinator: PowerProfilesBackend, Sendable {
    struct State {
        var selection: ProfileSelection
        var tracker: PowerSourceTracker
        var generation: UInt64 = 0
        var endedHolds: [UInt32] = []
        var listener: (@Sendable (PowerProfile, String) -> Void)?
        var resumeListener: (@Sendable () -> Void)?
        var generationListener: (@Sendable () -> Void)?
    }

    private let settings: Mutex<ProfileConfiguration>
    var configuration: ProfileConfiguration { settings.withLock { $0 } }
    let store: ProfileChoiceFile
    let logger: Logger
    private let state: Mutex<State>

    /// `stateDirectory` nil (a dry run) keeps a user's choice in memory only.
    public init(configuration: ProfileConfiguration, stateDirectory: String?, logger: Logger) {
        settings = Mutex(configuration)
        self.logger = logger
        store = ProfileChoiceFile(path: stateDirectory.map { $0 + "/power-profile.json" })
        let tracker = PowerSourceTracker(lowBatteryPercent: configuration.lowBatteryPercent)
        state = Mutex(State(selection: ProfileSelection(chosen: configuration.onAC ?? .balanced), tracker: tracker))
    }

    /// Reads the power source and the saved choice: the choice stands when it was made on the
    /// same power source, else the source's default does. Call once before the first plan.
    public func start(reading: PowerSupplyReading?) {
        let saved = store.load(logger: logger)
        let (profile, reason) = state.withLock { s -> (PowerProfile, String) in
            let source = reading.flatMap { s.tracker.observe($0) }
            if let saved, let profile = saved.profile, saved.source == source?.rawValue {
                _ = s.selection.choose(profile)
                return (profile, "saved choice for power source \(source?.rawValue ?? "unknown")")
            }
            if let source, let p = configuration.profile(for: source) {
                s.selection.powerSourceChanged(default: p)
                return (p, "default for power source \(source.rawValue)")
            }
            return (s.selection.active, "default")
        }
        logger.notice("power profile \(profile.name) (\(reason))",
                      metadata: ["event": "profile", "profile": "\(profile.name)"])
    }

    /// A reload: new sources' profiles and threshold, from the next power-source change on.
    public func reconfigure(_ next: ProfileConfiguration) {
        settings.withLock { $0 = next }
        state.withLock { $0.tracker.lowBatteryPercent = next.lowBatteryPercent }
    }

    /// Called with the new active profile and why, after every change.
    public func onChange(_ listener: @escaping @Sendable (PowerProfile, String) -> Void) {
        state.withLock { $0.listener = listener }
    }

    public func onGenerationChange(_ wake: @escaping @Sendable () -> Void) {
        state.withLock { $0.generationListener = wake }
    }

    /// Called when logind says the machine woke up.
    public func onResume(_ listener: @escaping @Sendable () -> Void) {
        state.withLock { $0.resumeListener = listener }
    }

    public var active: PowerProfile { state.withLock { $0.selection.active } }
    public var holds: [ProfileSelection.Hold] { state.withLock { $0.selection.holds } }
    public var generation: UInt64 { state.withLock { $0.generation } }
    public var powerSource: PowerSource? { state.withLock { $0.tracker.source } }
    public var chosenByUser: Bool { state.withLock { $0.selection.chosenByUser } }

    public func takeEndedHolds() -> [UInt32] {
        state.withLock { s in
            defer { s.endedHolds = [] }
            return s.endedHolds
        }
    }

    public func choose(_ profile: PowerProfile, by who: String) {
        let source = state.withLock { $0.tracker.source }
        store.save(ProfileChoiceFile.Choice(profile: profile, source: source?.rawValue), logger: logger)
        change("chosen by \(who)") { s in
            s.endedHolds += s.selection.choose(profile).map(\.cookie)
        }
    }

    public func hold(_ profile: PowerProfile, reason: String, applicationID: String, holder: String) throws(ProfileSelection.HoldRefusal) -> ProfileSelection.Hold {
        var result: Result<ProfileSelection.Hold, ProfileSelection.HoldRefusal> = .failure(.tooMany(0))
        change("held by \(applicationID) (\(reason))") { s in
            do throws(ProfileSelection.HoldRefusal) {
                result = .success(try s.selection.hold(profile, reason: reason, applicationID: applicationID, holder: holder))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    public func release(cookie: UInt32, holder: String) -> ProfileSelection.Hold? {
        var released: ProfileSelection.Hold?
        change("hold \(cookie) released") { s in released = s.selection.release(cookie: cookie, holder: holder) }
        return released
    }

    public func releaseAll(holder: String) -> [ProfileSelection.Hold] {
        var released: [ProfileSelection.Hold] = []
        change("holder \(holder) left the bus") { s in released = s.selection.releaseAll(holder: holder) }
        return released
    }

    public func resumed() {
        logger.notice("the machine woke up: carrying out the plan again", metadata: ["event": "resume_from_sleep"])
        state.withLock { $0.resumeListener }?()
    }

    /// Folds in a power-supply reading; a new power source switches to its default profile
    /// (ending a user's choice) and is logged once.
    public func observe(_ reading: PowerSupplyReading) {
        var switched: PowerSource?
        change("power source changed") { s in
            guard let source = s.tracker.observe(reading) else { return }
            switched = source
            s.selection.powerSourceChanged(default: configuration.profile(for: source))
        }
        if let switched {
            let percent = reading.batteryPercent.map { " (battery \(Int(saturating: $0.rounded())) %)" } ?? ""
            logger.notice("power source: \(switched.rawValue)\(percent)",
                          metadata: ["event": "power_source", "power_source": "\(switched.rawValue)"])
        }
    }

    /// Runs `body` on the state; when the active profile or the holds changed, bumps the
    /// generation, logs a profile change and tells the listeners (outside the lock).
    private func change(_ reason: String, _ body: (inout State) -> Void) {
        typealias Listeners = (profile: (@Sendable (PowerProfile, String) -> Void)?, generation: (@Sendable () -> Void)?)
        let (before, after, listeners) = state.withLock { s -> (PowerProfile, PowerProfile, Listeners) in
            let before = s.selection.active
            let holdsBefore = s.selection.holds
            body(&s)
            let changed = s.selection.active != before || s.selection.holds != holdsBefore
            if changed { s.generation &+= 1 }
            return (before, s.selection.active, (s.listener, changed ? s.generationListener : nil))
        }
        listeners.generation?()
        guard before != after else { return }
        logger.notice("power profile \(before.name) -> \(after.name): \(reason)",
                      metadata: ["event": "profile", "profile": "\(after.name)"])
        listeners.profile?(after, reason)
    }
}

/// The user's last explicit profile choice and the power source it was made on
/// (`<state_directory>/power-profile.json`).
struct ProfileChoiceFile: Sendable {
    struct Choice: Codable, Hashable {
        var profileName: String
        var source: String?
        var profile: PowerProfile? { PowerProfile(name: profileName) }

        init(profile: PowerProfile, source: String?) {
            profileName = profile.name
            self.source = source
        }

        enum CodingKeys: String, CodingKey {
            case profileName = "profile", source
        }
    }

    let path: String?

    func load(logger: Logger) -> Choice? {
        guard let path, let data = FileManager.default.contents(atPath: path), data.count <= 4096 else { return nil }
        do {
            return try JSONDecoder().decode(Choice.self, from: data)
        } catch {
            logger.warning("ignoring the saved power profile: \(path) is not one (\(error))", metadata: ["event": "profile"])
            return nil
        }
    }

    func save(_ choice: Choice, logger: Logger) {
        guard let path else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            let data = try encoder.encode(choice)
            try AtomicFile.write(String(decoding: data, as: UTF8.self) + "\n", to: path, durable: true)
        } catch {
            logger.warning("cannot save the chosen power profile to \(path): \(error)", metadata: ["event": "fault"])
        }
    }
}

