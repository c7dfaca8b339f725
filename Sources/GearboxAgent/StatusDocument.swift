import GearboxControl
import GearboxCore

/// The JSON shape of `gearboxctl status --json` (the `status` answer of the control socket):
///
///     mode, feasible, power_watts,
///     domains: name, cpus, low_khz, high_khz, p_high, time_share_high, current_khz, pinned_khz, held
///     queues: name, arrival_rate, mean_work_ms, kind, target_ms, predicted_ms, measured_mean_ms, met, stale,
///             confined_cpus (the CPUs its service is confined to; null when it names no unit or cgroup),
///             dispersion_10_ticks, dispersion_60_ticks, dispersion (measured; live queues),
///             arrival_dispersion, burst_bound (what the plan in force used)
///     overrides: id, scope, action fields, expires_in_s
///     plan: the plan in force, as `plan --json` prints it (null before the first)
///     power_model: which power model plans use and the learned curves (`PowerModelDocument`)
public enum StatusDocument {
    public static func json(_ status: AgentStatus) -> JSONValue {
        let pins = status.overrides.pins(on: status.platform)
        return .object([
            ("mode", .string(status.mode)),
            ("feasible", status.plan.map { .bool($0.feasible) } ?? .null),
            ("power_watts", status.plan.map { .finite($0.power.value) } ?? .null),
            ("domains", .array(status.platform.domains.map { domain($0, status: status, pin: pins[$0.name]) })),
            ("queues", .array(status.queueNames.map { queue($0, status: status) })),
            ("overrides", .array(status.overrides.active.map { $0.json(now: status.now, platform: status.platform) })),
            ("plan", status.plan.map(PlanDocument.json) ?? .null),
            ("profile", status.profile.map(\.json) ?? .null),
            ("power_model", status.powerModel ?? .null),
        ])
    }

    static func domain(_ d: FrequencyDomain, status: AgentStatus, pin: Kilohertz?) -> JSONValue {
        let planned = status.plan?.domains.first { $0.name == d.name }
        return .object([
            ("name", .string(d.name)),
            ("cpus", .array(d.cpus.map(JSONValue.int))),
            ("low_khz", planned.map { .int($0.low.value) } ?? .null),
            ("high_khz", planned.map { .int($0.high.value) } ?? .null),
            ("p_high", planned.map { .finite($0.pHigh) } ?? .null),
            ("time_share_high", planned.map { .finite($0.timeShareHigh) } ?? .null),
            ("current_khz", status.currentFrequencies[d.name].map { .int($0.value) } ?? .null),
            ("pinned_khz", pin.map { .int($0.value) } ?? .null),
            ("held", .bool(status.heldDomains.contains(d.name))),
            ("mechanism", status.mechanisms[d.name].map(JSONValue.string) ?? .null),
        ])
    }

    static func queue(_ name: String, status: AgentStatus) -> JSONValue {
        let estimate = status.workload.queues.first { $0.name == name }
        let planned = status.plan?.queues.first { $0.name == name }
        let target = planned?.target ?? estimate?.target
        let dispersion = status.arrivalDispersion[name]
        return .object([
            ("name", .string(name)),
            ("arrival_rate", estimate.map { .finite($0.arrivalRate) } ?? .null),
            ("mean_work_ms", estimate.map { .finite($0.meanWork * 1000) } ?? .null),
            ("kind", target.map { .string($0.kind.rawValue) } ?? .null),
            ("target_ms", target.map { .finite($0.milliseconds) } ?? .null),
            ("predicted_ms", planned.map { .finite($0.predictedLatency * 1000) } ?? .null),
            ("measured_mean_ms", status.measuredLatency[name].map { .finite($0 * 1000) } ?? .null),
            ("met", planned.map { .bool($0.meetsTarget) } ?? .null),
            ("given_up", planned?.givenUp.map(JSONValue.string) ?? .null),
            ("planning_factor", planned.map { .finite($0.planningFactor) } ?? .null),
            ("stale", status.staleQueues[name].map(JSONValue.string) ?? .null),
            ("confined_cpus", status.confinedCPUs[name].map { .string(CPUList.format($0)) } ?? .null),
            ("dispersion_10_ticks", dispersion?.index(over: ArrivalDispersion.shortTicks).map(JSONValue.finite) ?? .null),
            ("dispersion_60_ticks", dispersion?.index(over: ArrivalDispersion.longTicks).map(JSONValue.finite) ?? .null),
            ("dispersion", dispersion.map { .finite($0.planningIndex) } ?? .null),
            ("arrival_dispersion", planned.map { .finite($0.arrivalDispersion) } ?? .null),
            ("burst_bound", planned.map { .bool($0.arrivalDispersion > 1) } ?? .null),
        ])
    }
}
