import ArgumentParser
import Foundation
import GearboxCore

/// gearboxctl: one-shot plans and simulations from the shell, and the agent's control client.
@main
struct Gearboxctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gearboxctl",
        abstract: "Plan, simulate and steer gearbox, the energy-aware CPU frequency governor.",
        version: GearboxVersion.string,
        subcommands: [PlanCommand.self, InspectCommand.self, SimulateCommand.self, CompareCommand.self, StatusCommand.self, OverrideCommand.self, ResumeCommand.self, ReloadCommand.self, ExplainCommand.self, ProfileCommand.self]
    )

    /// Exit codes (README): 0 success, 1 an infeasible or failed result that was still
    /// reported, 2 bad input (argument-parser's usage errors included, which would be 64).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as ConfigFailure {
            FileHandle.standardError.write(Data("gearboxctl: \(error.message)\n".utf8))
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                // One line, as every other bad input: the usage text is one --help away.
                let message = Self.message(for: error).split(whereSeparator: \.isNewline).joined(separator: "; ")
                FileHandle.standardError.write(Data("gearboxctl: \(message) (see --help)\n".utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Bad input found after argument parsing (a file, a field): printed as one line, exit 2.
struct ConfigFailure: Error {
    var message: String
    init(_ error: CustomStringConvertible) { message = error.description }
    init(message: String) { self.message = message }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
