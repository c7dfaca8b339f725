import ArgumentParser
import Foundation
import GearboxConfig
import GearboxCore
import GearboxSimulator

/// Options `simulate` and `compare` share: the host, the work, and how long to run.
struct SimulateOptions: ParsableArguments {
    @Option(help: "Platform file (TOML).")
    var platform: String

    @Option(help: "Workload file (TOML).")
    var workload: String

    // `.unconditional`: `--duration -5` is read as the value -5 and refused with a clear
    // message, rather than taken for an option and reported as a missing value.
    @Option(parsing: .unconditional, help: "Measured simulated seconds, after the warm-up (at most 100000).")
    var duration: Double = 60

    @Option(name: .customLong("warm-up"), parsing: .unconditional, help: "Simulated seconds discarded first (at most 100000).")
    var warmUp: Double = 10

    @Option(help: "Seed of the random streams (arrivals, work, routing, speeds).")
    var seed: UInt64 = 1

    @Option(help: "Two-speed realisation: time-share (as the agent does) or per-request (the model's).")
    var realisation: String = TwoSpeedRealisation.timeShare.rawValue

    @Option(help: "Frequency transitions: delay (run at the old speed meanwhile) or stall.")
    var transition: String = TransitionModel.delay.rawValue

    @Option(name: .customLong("baseline-split"), help: "How the baselines dispatch: plan (the oracle's split, so only frequencies differ) or capacity (in proportion to CPU capacity).")
    var baselineSplit: String = BaselineDispatch.plannedSplit.rawValue

    @Option(name: .customLong("target-headroom"), parsing: .unconditional, help: "gearbox plans for targets this fraction shorter (0 to 0.5).")
    var targetHeadroom: Double = 0.03

    @Flag(name: .customLong("no-feedback"), help: "gearbox plans without correcting its targets from the latency it measures.")
    var noFeedback = false

    @Flag(name: .customLong("no-burst-aware"), help: "gearbox plans with Poisson arrivals, without raising the planned SCV from the measured dispersion.")
    var noBurstAware = false

    @Option(name: .customLong("progress-after"), parsing: .unconditional, help: ArgumentHelp("Seconds of wall time before progress shows on stderr.", visibility: .hidden))
    var progressAfter: Double = 2

    @Option(help: "CSV of recorded arrivals (columns time_s, work_ms, optional queue) replayed instead of Poisson ones.")
    var trace: String?

    @Option(name: .customLong("pool-model"), help: "How the planners judge confined queues: per-cpu or allen-cunneen.")
    var poolModel: PoolModel = .perCPU

    @Option(name: .customLong("max-switch-rate"), parsing: .unconditional, help: ArgumentHelp(
        "gearbox's plans make at most this many frequency switches per second across the host (0: no two-speed mixes).",
        valueName: "per-second"))
    var maxSwitchRate: Double?

    @Flag(help: "Treat every route queue as confined (as one naming a unit or cgroup): planned as a set of CPUs with speed-proportional shares, served as a pool (one waiting line for the set's CPUs).")
    var confine = false

    /// Longest --trace file read: 1 GiB, some 50 million rows.
    static let maximumTraceBytes = 1 << 30

    /// The simulator these options describe, or a one-line error naming file and field.
    func simulator() throws(SimulateInputError) -> Simulator {
        let platformModel: Platform
        let workloadModel: Workload
        do {
            platformModel = try PlatformFile.load(path: platform)
            workloadModel = try WorkloadFile.load(path: workload, platform: platformModel)
        } catch {
            throw SimulateInputError(error.description)
        }
        var configuration = SimulationConfiguration()
        configuration.duration = duration
        configuration.warmUp = warmUp
        configuration.seed = seed
        guard let r = TwoSpeedRealisation(rawValue: realisation) else {
            throw SimulateInputError("--realisation: '\(realisation)' is not one of per-request, time-share")
        }
        configuration.realisation = r
        guard let t = TransitionModel(rawValue: transition) else {
            throw SimulateInputError("--transition: '\(transition)' is not one of delay, stall")
        }
        configuration.transition = t
        guard let b = BaselineDispatch(rawValue: baselineSplit) else {
            throw SimulateInputError("--baseline-split: '\(baselineSplit)' is not one of plan, capacity")
        }
        configuration.baselineDispatch = b
        guard targetHeadroom >= 0, targetHeadroom <= 0.5 else {
            throw SimulateInputError("--target-headroom: \(targetHeadroom) is not between 0 and 0.5")
        }
        configuration.gearbox.targetHeadroom = targetHeadroom
        if noFeedback { configuration.gearbox.feedback = nil }
        if noBurstAware { configuration.gearbox.burstAware = false }
        configuration.planner.poolModel = poolModel
        if let rate = maxSwitchRate {
            if let refusal = InputLimits.switchRate.refusal(rate) { throw SimulateInputError("--max-switch-rate: \(refusal)") }
            configuration.planner.maxSwitchRate = rate
        }
        guard progressAfter.isFinite, progressAfter >= 0, progressAfter <= 86_400 else {
            throw SimulateInputError("--progress-after: \(progressAfter) is not between 0 and 86400 s")
        }
        let traces = try traces(for: workloadModel)
        do {
            try configuration.checkSize(workload: workloadModel, traces: traces)
        } catch {
            throw SimulateInputError("--\(error.field): \(error.message)")
        }
        var served = workloadModel
        if confine {
            for q in served.queues.indices where served.queues[q].dispatch == .route { served.queues[q].confined = true }
        }
        let simulator = Simulator(
            platform: platformModel, workload: served, configuration: configuration, traces: traces)
        do {
            try simulator.validate()
        } catch {
            let source = error.field.hasPrefix("queue") ? workload : (error.field.hasPrefix("domain") ? platform : "option")
            throw SimulateInputError("\(source): \(error.description)")
        }
        return simulator
    }

    private func traces(for workload: Workload) throws(SimulateInputError) -> [String: ArrivalTrace] {
        guard let trace else { return [:] }
        let text: String
        do { text = try FileText.read(trace, maximumBytes: Self.maximumTraceBytes) } catch { throw SimulateInputError(error.description) }
        let parsed: [String: ArrivalTrace]
        do { parsed = try ArrivalTrace.parse(csv: text) } catch { throw SimulateInputError("\(trace):\(error.line): \(error.field.map { "\($0): " } ?? "")\(error.message)") }
        var byQueue: [String: ArrivalTrace] = [:]
        for (name, arrivals) in parsed {
            // Rows without a queue column feed the first queue.
            let queue = name.isEmpty ? workload.queues.first?.name ?? "" : name
            guard workload.queues.contains(where: { $0.name == queue }) else {
                throw SimulateInputError("\(trace): queue: '\(name)' is not a queue of the workload")
            }
            byQueue[queue] = arrivals
        }
        return byQueue
    }
}

/// Bad input found while setting up a run: one line naming file and field (exit 2).
struct SimulateInputError: Error {
    var line: String
    init(_ line: String) { self.line = line }
}

