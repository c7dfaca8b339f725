// A test-only child process for GearboxAgentTests: serves the control socket with
// `ControlServer` over a fixed two-domain host, so that tests can hand it a socket through
// `systemd-socket-activate` (sd_listen_fds reads the process environment) and drive it with
// the built gearboxctl as another user. Not installed; not part of the product.
//
//   gearbox-control-probe PATH [GROUP]   serve PATH (or the socket systemd passed) until SIGTERM
import GearboxAgent
import GearboxControl
import GearboxCore
import GearboxLinux
import Glibc
import Logging
import ServiceLifecycle

/// Overrides over a fixed plan, with real expiry on the monotonic clock.
actor ProbeHandler: ControlHandling {
    static let platform = Platform(domains: [
        FrequencyDomain(name: "policy0", cpus: [0, 1, 2, 3], capacity: 512, idlePower: Watts(0.05), operatingPoints: [
            OperatingPoint(frequency: Kilohertz(800_000), busyPower: Watts(0.3)),
            OperatingPoint(frequency: Kilohertz(1_600_000), busyPower: Watts(0.9)),
        ]),
        FrequencyDomain(name: "policy4", cpus: [4, 5], capacity: 1024, idlePower: Watts(0.1), operatingPoints: [
            OperatingPoint(frequency: Kilohertz(1_000_000), busyPower: Watts(0.8)),
            OperatingPoint(frequency: Kilohertz(2_000_000), busyPower: Watts(2.5)),
        ]),
    ])
    static let workload = Workload(queues: [
        WorkQueue(name: "web", arrivalRate: 400, meanWork: 0.002, target: LatencyTarget(kind: .p99, seconds: 0.020)),
    ])
    static let plan = Plan(
        feasible: true, power: Watts(3.25),
        domains: [
            DomainPlan(name: "policy0", cpus: [0, 1, 2, 3], low: Kilohertz(800_000), high: Kilohertz(1_600_000), pHigh: 0.25, timeShareHigh: 0.1429, ditherPeriod: 0.01),
            DomainPlan(name: "policy4", cpus: [4, 5], low: Kilohertz(1_000_000), high: Kilohertz(1_000_000), pHigh: 0, timeShareHigh: 0),
        ],
        queues: [QueuePlan(name: "web", target: LatencyTarget(kind: .p99, seconds: 0.020), predictedLatency: 0.0185, split: [4: 0.5, 5: 0.5])],
        cpus: [])

    let start = ContinuousClock.now
    var overrides = OverrideSet()

    var now: Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    func status() -> AgentStatus {
        _ = overrides.expire(now: now)
        return AgentStatus(
            mode: "probe", now: now, platform: Self.platform, plan: overrides.apply(to: Self.plan, on: Self.platform),
            workload: overrides.adjust(Self.workload), measuredLatency: ["web": 0.0042], overrides: overrides,
            currentFrequencies: ["policy0": Kilohertz(800_000), "policy4": Kilohertz(1_000_000)])
    }

    func statusDocument() -> JSONValue { StatusDocument.json(status()) }

    func planDocument() -> JSONValue { .object([("plan", PlanDocument.json(status().plan!))]) }

    func explainDocument() -> JSONValue {
        let status = status()
        return ExplainDocument.json(platform: Self.platform, workload: status.workload, plan: status.plan!, planner: Planner())
    }

    func addOverride(scope: Override.Scope, action: Override.Action, duration: Double?) throws(ControlFailure) -> JSONValue {
        try OverrideValidation.check(scope: scope, action: action, platform: Self.platform, queueNames: ["web"])
        let now = self.now
        let added = overrides.add(scope: scope, action: action, expiresAt: duration.map { now + $0 })
        return .object([("override", added.json(now: now))])
    }

    func resume() -> JSONValue { .object([("removed", .int(overrides.removeAll()))]) }

    func reload() throws(ControlFailure) -> JSONValue {
        throw ControlFailure(.failed, "probe.toml:3: field \"tick\": expected a duration")
    }
}

func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    say("usage: gearbox-control-probe PATH [GROUP]")
    exit(3)
}
var logger = Logger(label: "gearbox-control-probe")
logger.logLevel = .warning
do {
    let listener = try ControlServer.openListener(path: arguments[1], mode: 0o666, groupName: nil, logger: logger)
    say("listening activated=\(listener.name != nil) path=\(listener.path ?? "-")")
    let server = ControlServer(listener: listener, groupName: arguments.count > 2 ? arguments[2] : nil,
                               handler: ProbeHandler(), logger: logger)
    let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()
    say("stopped")
} catch {
    say("error: \(error)")
    exit(3)
}
