import ArgumentParser
import Foundation
import GearboxCore
import GearboxSimulator

/// `gearboxctl compare`: every policy on the same arrivals, in one table.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Simulate every policy on the same arrivals and compare energy and latency.",
        discussion: """
            Runs gearbox in both two-speed realisations, the oracle, and the baselines \
            (performance, powersave, ondemand, conservative, schedutil) with the same seed, \
            so all see the same requests. Exit status: 0 when gearbox met every target, 1 \
            when it missed one (still reported), 2 on bad input.
            """)

    @OptionGroup var options: SimulateOptions

    @Option(help: "Also write an energy-against-latency chart to this SVG file.")
    var svg: String?

    @Flag(help: "Print a JSON array of simulate objects instead of the table.")
    var json = false

    func run() throws {
        let simulator: Simulator
        do { simulator = try options.simulator().withReferencePlan() } catch { throw ConfigFailure(message: error.line) }
        var other = simulator
        other.configuration.realisation =
            simulator.configuration.realisation == .timeShare ? .perRequest : .timeShare
        let runs: [(Simulator, GovernorPolicy)] =
            [(simulator, .gearbox), (other, .gearbox)] + GovernorPolicy.named.dropFirst().map { (simulator, $0) }
        var results: [SimulationResult] = []
        for (s, policy) in runs {
            let progress = SimulateProgress(
                label: "simulating \(policy.name) (\(results.count + 1)/\(runs.count))", after: options.progressAfter)
            results.append(s.run(policy: policy, progress: progress.update))
            progress.finish()
        }
        let gearbox = results[0]
        if json {
            print(SimulateReport.json(zip(runs, results).map { SimulateReport($1, configuration: $0.0.configuration) }))
        } else {
            let c = simulator.configuration
            print("\(CompareTable.format(c.duration, digits: 1)) s measured after \(CompareTable.format(c.warmUp, digits: 1)) s warm-up, seed \(c.seed); every policy sees the same arrivals\n")
            let table = CompareTable(results: results, reference: gearbox)
            print(table.text)
            print("\n" + table.summary)
            print("\n" + CompareTable.actuationNote(results, cost: c.planner.actuation, transition: c.transition))
        }
        if let svg {
            let title = "Energy against latency: \(basename(options.platform)), \(basename(options.workload))"
            let chart = SVGEnergyLatencyChart(title: title, results: results).svg
            do {
                try chart.write(toFile: svg, atomically: true, encoding: .utf8)
            } catch {
                throw ConfigFailure(message: "\(svg): cannot write the chart (\(error.localizedDescription))")
            }
        }
        if !gearbox.allTargetsMet { throw ExitCode(1) }
    }

    private func basename(_ path: String) -> String {
        String(path.split(separator: "/").last ?? Substring(path))
    }
}
