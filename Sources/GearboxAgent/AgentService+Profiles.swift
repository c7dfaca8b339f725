import GearboxConfig
import GearboxControl
import GearboxCore
import GearboxLinux

/// The power profile in `status`: which, why, and what holds it.
public struct ProfileStatus: Sendable, Hashable {
    public var active: PowerProfile
    public var powerSource: PowerSource?
    public var chosenByUser: Bool
    public var holds: [ProfileSelection.Hold]

    var json: JSONValue {
        .object([
            ("active", .string(active.name)),
            ("power_source", powerSource.map { .string($0.rawValue) } ?? .null),
            ("chosen_by_user", .bool(chosenByUser)),
            ("holds", .array(holds.map { hold in
                .object([("cookie", .int(Int(hold.cookie))), ("profile", .string(hold.profile.name)),
                         ("application_id", .string(hold.applicationID)), ("reason", .string(hold.reason))])
            })),
        ])
    }
}

extension AgentService {
    /// Reads the power source once and the saved choice; returns the profile to start with.
    func startProfiles(_ profiles: ProfileCoordinator) -> PowerProfile {
        let directory = initialConfiguration.profiles.powerSupplyDirectory
        profiles.start(reading: directory.isEmpty ? nil : PowerSupplies(root: directory).read())
        return profiles.active
    }

    /// Runs beside the loop until the agent stops: the power-profiles D-Bus API (on a thread
    /// of its own) and the power supplies, read every tick but at most once a second (a
    /// profile follows an unplug within a second; a 100 ms tick need not list the supplies ten
    /// times a second).
    func serveProfiles(_ profiles: ProfileCoordinator, configuration: AgentConfiguration,
                       period: @escaping @Sendable () -> Duration) async {
        let bus = options.profileBus && configuration.profiles.dbus
            ? PowerProfilesBus(backend: profiles,
                               configuration: .init(groupName: configuration.controlGroup, version: "gearbox \(GearboxVersion.string)"),
                               logger: logger)
            : nil
        if let bus, !bus.start() {
            logger.error("could not start the D-Bus thread; power profiles are not served on the bus", metadata: ["event": "fault"])
        }
        let directory = configuration.profiles.powerSupplyDirectory
        let supplies = directory.isEmpty ? nil : PowerSupplies(root: directory)
        while !Task.isCancelled {
            if let supplies { profiles.observe(supplies.read()) }
            try? await Task.sleep(for: max(period(), Self.powerSupplyPeriod))
        }
        bus?.stop()
    }

    /// The shortest interval between two reads of the power supplies.
    static let powerSupplyPeriod: Duration = .seconds(1)

    func handleProfile(_ profile: PowerProfile, reason: String, loop: inout ControlLoop) async {
        profileEventPending.store(false, ordering: .releasing)
        // The profile in force now: later changes may have come while this event waited.
        let current = profiles?.active ?? profile
        let why = current == profile ? reason : "several changes"
        guard let decision = loop.setProfile(current, reason: "power profile \(current.name): \(why)") else { return }
        await carryOut(decision, loop: loop)
    }

    /// Writes the current plan again, every setting, though it did not change: the firmware
    /// may have reset limits while the machine slept, or someone else changed them.
    func reapply(_ loop: ControlLoop, reason: String) async {
        guard let plan = loop.currentPlan else { return }
        logger.notice("carrying out the plan again: \(reason)", metadata: ["event": "reapply"])
        await host.reapply(plan)
    }

    func profileStatus(_ loop: ControlLoop) -> ProfileStatus? {
        guard let profiles else { return nil }
        return ProfileStatus(active: loop.profile, powerSource: profiles.powerSource,
                             chosenByUser: profiles.chosenByUser, holds: profiles.holds)
    }
}

extension AgentService {
    /// The periodic read-back: a setting someone else changed (a tool, the firmware after a
    /// suspend) is written again within the tick that finds it, and logged.
    func reapplyIfChangedBehindOurBack(_ loop: ControlLoop) async {
        guard !options.once, loop.currentPlan != nil else { return }
        let changed = await host.changedBehindOurBack()
        guard !changed.isEmpty else { return }
        await reapply(loop, reason: "settings of \(changed.joined(separator: ", ")) changed behind the agent's back")
    }
}

extension AgentService {
    /// `set_profile` on the control socket: a user's choice, as over D-Bus. The coordinator
    /// hands the change to the loop as an event of its own, handled after this answer.
    func setProfileFromControlSocket(_ profile: PowerProfile) -> Result<JSONValue, ControlFailure> {
        guard let profiles else { return .failure(ControlFailure(.failed, "this agent does not follow power profiles")) }
        profiles.choose(profile, by: "the control socket")
        return .success(.object([("profile", .string(profile.name))]))
    }
}
