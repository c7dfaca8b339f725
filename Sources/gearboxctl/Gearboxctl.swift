import ArgumentParser

/// gearboxctl: one-shot plans and simulations from the shell, and the agent's control client.
@main
struct Gearboxctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gearboxctl",
        abstract: "Plan, simulate and steer gearbox, the energy-aware CPU frequency governor.",
        subcommands: [PlanCommand.self, InspectCommand.self, SimulateCommand.self, CompareCommand.self]
    )
}
