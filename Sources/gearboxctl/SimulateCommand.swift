import ArgumentParser
import GearboxCore
import GearboxSimulator

/// `gearboxctl simulate`: a discrete-event run of the host under one policy.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate the host serving the workload under one frequency policy.",
        discussion: """
            Policies: \(GovernorPolicy.named.map(\.name).joined(separator: ", ")). \
            Exit status: 0 when every queue met its target, 1 when one missed (still \
            reported), 2 on bad input.
            """)

    @OptionGroup var options: SimulateOptions

    @Option(help: "The frequency policy to simulate.")
    var policy: String = "gearbox"

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        let simulator: Simulator
        do { simulator = try options.simulator() } catch { throw ConfigFailure(message: error.line) }
        guard let policy = GovernorPolicy(name: policy) else {
            throw ConfigFailure(message: "--policy: '\(self.policy)' is not one of \(GovernorPolicy.named.map(\.name).joined(separator: ", "))")
        }
        let progress = SimulateProgress(label: "simulating \(policy.name)", after: options.progressAfter)
        let result = simulator.run(policy: policy, progress: progress.update)
        progress.finish()
        if json {
            print(SimulateReport.json(SimulateReport(result, configuration: simulator.configuration)))
        } else {
            print(CompareTable(results: [result], reference: nil).text)
        }
        if !result.allTargetsMet { throw ExitCode(1) }
    }
}
