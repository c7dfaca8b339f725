import ArgumentParser
import GearboxControl

/// `gearboxctl resume`: drop every override; the planner decides again.
struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Drop every override of the running agent; the planner decides again.",
        discussion: "Needs root or the agent's control group. Exit status: 0 done, 1 refused or failed."
    )

    @OptionGroup var control: ControlOptions

    func run() throws {
        let document = try control.send(.resume)
        guard !control.json else { return }
        let removed = document["removed"]?.intValue
        print(removed.map { "resumed: \($0) override\($0 == 1 ? "" : "s") dropped." } ?? "resumed.")
    }
}
