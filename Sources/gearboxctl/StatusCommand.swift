import ArgumentParser
import GearboxControl

/// `gearboxctl status`: the agent's plan, estimates, measured latency, overrides and mode.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the running agent's plan, estimates, measured latency, overrides and mode.",
        discussion: """
            Asks gearboxd over its control socket; open to every local user. Exit status: 0 when \
            the agent answered, 1 when it is not running or failed, 2 on bad input.
            """
    )

    @OptionGroup var control: ControlOptions

    func run() throws {
        let document = try control.send(.status)
        if !control.json { print(StatusReport.text(document)) }
    }
}
