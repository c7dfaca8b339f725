import ArgumentParser
import GearboxControl
import GearboxCore
import Foundation

/// `gearboxctl override`: pin a scope to a frequency or mode, or set a queue's latency target, for a while.
struct OverrideCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "override",
        abstract: "Override the running agent's policy: pin the host, a domain or CPUs to a frequency or mode, or change a queue's latency target.",
        discussion: """
            Needs root or the agent's control group. Pinning CPUs pins their whole frequency \
            domains. An override lasts --duration, then expires by itself; `gearboxctl resume` \
            drops every override. Overrides survive a reload, not a restart.
            Examples:
              gearboxctl override --domain policy4 --frequency-mhz 1200 --duration 5m
              gearboxctl override --host --mode performance --duration 30s
              gearboxctl override --queue web --p99-ms 20 --duration 1h
            Exit status: 0 when the agent took it, 1 when refused or failed, 2 on bad input.
            """
    )

    @Flag(help: "Apply to every CPU of the host.")
    var host = false

    @Option(help: ArgumentHelp("Apply to one frequency domain (as status shows it, e.g. policy0).", valueName: "name"))
    var domain: String?

    @Option(help: ArgumentHelp("Apply to these CPUs (cpulist, e.g. 0-3,8) and so to their domains.", valueName: "list"))
    var cpus: String?

    // `.unconditional` on the numbers: a negative one is read and refused as such, not
    // reported as a missing value.
    @Option(parsing: .unconditional, help: ArgumentHelp("Pin to this frequency (the nearest operating point at or above it).", valueName: "MHz"))
    var frequencyMhz: Double?

    @Option(help: ArgumentHelp("performance (top speed), powersave (lowest) or auto (back to the planner).", valueName: "mode"))
    var mode: String?

    @Option(help: ArgumentHelp("Change this queue's latency target (with --mean-ms, --p95-ms or --p99-ms).", valueName: "name"))
    var queue: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("New target on the mean response time.", valueName: "ms"))
    var meanMs: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("New target on the 95th percentile.", valueName: "ms"))
    var p95Ms: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("New target on the 99th percentile.", valueName: "ms"))
    var p99Ms: Double?

    @Option(help: ArgumentHelp("How long it lasts: 90, 90s, 5m, 2h, 1d (seconds without a unit). Without it, until resume.", valueName: "time"))
    var duration: String?

    @OptionGroup var control: ControlOptions

    func validate() throws {
        _ = try request()
    }

    func run() throws {
        let request = try request()
        let document = try control.send(.override(request))
        guard !control.json else { return }
        print(Self.confirmation(document["override"], request: request))
    }

    /// "override 3 in force: domain policy0: 1200 MHz, for 5.0 min." from the agent's answer,
    /// filled in from the request where the answer is silent.
    static func confirmation(_ answer: JSONValue?, request: OverrideRequest) -> String {
        let sent = ControlRequest.override(request).json()
        let id = answer?["id"]?.intValue.map { " \($0)" } ?? ""
        let scope = StatusReport.scope(answer?["scope"] ?? sent["scope"])
        let action = answer.map(StatusReport.action).flatMap { $0 == "?" ? nil : $0 } ?? StatusReport.action(sent)
        let left = answer?["expires_in_s"].map { StatusReport.timeLeft($0) } ?? StatusReport.timeLeft(sent["duration_s"])
        return "override\(id) in force: \(scope): \(action), \(left == "until resume" ? "until resume" : "for \(left)")."
            + runs(answer?["pinned_khz"])
    }

    /// " Runs policy0 at 1400 MHz, policy1 at 1300 MHz." from the answer's `pinned_khz`: what
    /// each domain really runs (a frequency between operating points runs at the next one up).
    static func runs(_ pinned: JSONValue?) -> String {
        guard let fields = pinned?.objectFields, !fields.isEmpty else { return "" }
        let parts = fields.map { name, khz in "\(name) at \(khz.intValue.map { PlanReport.fixed(Double($0) / 1000, 0) } ?? "?") MHz" }
        return " Runs " + parts.joined(separator: ", ") + "."
    }

    /// The request the options describe; a `ValidationError` names what is wrong.
    func request() throws -> OverrideRequest {
        let scopes = [host ? OverrideRequest.Scope.host : nil, domain.map { .domain($0) }, try cpuScope()].compactMap { $0 }
        let targets = [meanMs.map { (LatencyKind.mean, $0) }, p95Ms.map { (.p95, $0) }, p99Ms.map { (.p99, $0) }].compactMap { $0 }
        let actions = [frequencyMhz != nil, mode != nil, queue != nil].filter { $0 }.count
        guard actions == 1 else {
            throw ValidationError("give one of --frequency-mhz, --mode or --queue (with --mean-ms, --p95-ms or --p99-ms)")
        }
        guard scopes.count <= 1 else { throw ValidationError("give one of --host, --domain or --cpus, not several") }
        let action: OverrideRequest.Action
        if let queue {
            guard targets.count == 1, let (kind, ms) = targets.first else {
                throw ValidationError("--queue needs exactly one of --mean-ms, --p95-ms or --p99-ms")
            }
            if let refusal = InputLimits.targetMilliseconds.refusal(ms) { throw ValidationError("--\(kind.rawValue)-ms \(refusal)") }
            action = .latencyTarget(queue: queue, target: LatencyTarget(kind: kind, seconds: ms / 1000))
        } else {
            guard targets.isEmpty else { throw ValidationError("--mean-ms, --p95-ms and --p99-ms go with --queue") }
            guard !scopes.isEmpty else { throw ValidationError("say what to override: --host, --domain NAME or --cpus LIST") }
            if let mhz = frequencyMhz {
                let megahertz = InputRange(InputLimits.frequencyKilohertz.lowest / 1000, InputLimits.frequencyKilohertz.highest / 1000, unit: "MHz")
                if let refusal = megahertz.refusal(mhz) { throw ValidationError("--frequency-mhz \(refusal)") }
                action = .frequency(Kilohertz(Int((mhz * 1000).rounded())))
            } else {
                guard let mode = mode.flatMap(OverrideRequest.Mode.init(rawValue:)) else {
                    throw ValidationError("--mode must be performance, powersave or auto, not \"\(mode ?? "")\"")
                }
                action = .mode(mode)
            }
        }
        return OverrideRequest(scope: scopes.first ?? .host, action: action, duration: try seconds())
    }

    private func cpuScope() throws -> OverrideRequest.Scope? {
        guard let cpus else { return nil }
        do {
            let list = try CPUList.parse(cpus)
            guard !list.isEmpty else { throw ValidationError("--cpus is empty") }
            return .cpus(list)
        } catch let error as CPUList.ParseError {
            throw ValidationError("--cpus: \(error.description)")
        }
    }

    private func seconds() throws -> Double? {
        guard let duration else { return nil }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("min", 60), ("h", 3600), ("d", 86_400)]
        let text = duration.trimmingCharacters(in: .whitespaces)
        let digits = text.prefix { $0.isNumber || $0 == "." }
        let unit = text.dropFirst(digits.count)
        guard let value = Double(digits), let scale = unit.isEmpty ? 1 : units.first(where: { $0.0 == unit })?.1 else {
            throw ValidationError("--duration: \"\(duration)\" is not a time; use e.g. 90, 90s, 5m, 2h or 1d")
        }
        let seconds = value * scale
        guard seconds > 0, seconds <= 366 * 86_400 else { throw ValidationError("--duration must be more than 0 and at most a year") }
        return seconds
    }
}
