import ArgumentParser
import GearboxControl

/// `gearboxctl reload`: make the running agent re-read its configuration (as SIGHUP does).
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make the running agent re-read its configuration; overrides stay in force.",
        discussion: """
            Needs root or the agent's control group. A configuration with an error is refused, the \
            error printed with its file, line and field, and the old one kept (exit status 1).
            """
    )

    @OptionGroup var control: ControlOptions

    func run() throws {
        _ = try control.send(.reload)
        if !control.json { print("configuration reloaded.") }
    }
}
