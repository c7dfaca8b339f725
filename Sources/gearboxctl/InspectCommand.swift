import ArgumentParser

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Not built yet.")
    func run() throws { throw ValidationError("gearboxctl inspect is not built yet") }
}
