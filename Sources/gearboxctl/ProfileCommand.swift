import ArgumentParser
import GearboxControl
import GearboxCore

/// `gearboxctl profile NAME`: choose the running agent's power profile (docs/laptops.md).
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Choose the running agent's power profile: power-saver, balanced or performance.",
        discussion: """
            The same choice as a desktop's power menu makes over D-Bus: it wins until the power \
            source changes, and ends every application's hold. `gearboxctl status` shows the \
            active profile. Needs root or the agent's control group. Exit status: 0 done, \
            1 refused or failed, 2 an unknown profile.
            """
    )

    @Argument(help: "power-saver, balanced or performance.")
    var name: String

    @OptionGroup var control: ControlOptions

    func validate() throws {
        guard PowerProfile(name: name) != nil else {
            throw ValidationError("unknown profile \"\(name)\"; expected one of \(PowerProfile.allCases.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        guard let profile = PowerProfile(name: name) else { return }
        let document = try control.send(.setProfile(profile))
        guard !control.json else { return }
        print("power profile: \(document["profile"]?.stringValue ?? profile.name)")
    }
}
