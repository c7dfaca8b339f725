import GearboxCore

/// The JSON shape of a plan: `gearboxctl plan --json` and `/run/gearbox/plan.json` (docs/formats.md).
public enum PlanDocument {
    public static func json(_ plan: Plan) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("gearbox_version", .string(GearboxVersion.string)),
            ("feasible", .bool(plan.feasible)),
            ("power_watts", .finite(plan.power.value)),
            ("switching_watts", .finite(plan.switchingPower.value)),
            ("switches_per_second", .finite(Planner.switchRate(plan))),
            ("power_model", .string(plan.powerModel.rawValue)),
            ("domains", .array(plan.domains.map(domain))),
            ("queues", .array(plan.queues.map(queue))),
            ("cpus", .array(plan.cpus.map(cpu))),
        ]
        // Only the agent plans under a power profile; `gearboxctl plan` prints none.
        if let p = plan.profile {
            fields.append(("profile", .object([
                ("name", .string(p.profile.name)), ("boost", .bool(p.boost)), ("epp", .string(p.energyPreference.rawValue)),
            ])))
        }
        return .object(fields)
    }

    static func domain(_ d: DomainPlan) -> JSONValue {
        .object([
            ("name", .string(d.name)),
            ("cpus", .array(d.cpus.map(JSONValue.int))),
            ("low_khz", .int(d.low.value)),
            ("high_khz", .int(d.high.value)),
            ("p_high", .finite(d.pHigh)),
            ("time_share_high", .finite(d.timeShareHigh)),
            ("dither_period_ms", d.ditherPeriod.map { .finite($0 * 1000) } ?? .null),
            ("fallback", d.fallbackReason.map(JSONValue.string) ?? .null),
        ])
    }

    static func queue(_ q: QueuePlan) -> JSONValue {
        .object([
            ("name", .string(q.name)),
            ("kind", .string(q.target.kind.rawValue)),
            ("target_ms", .finite(q.target.milliseconds)),
            ("latency_ms", .finite(q.predictedLatency * 1000)),
            ("met", .bool(q.meetsTarget)),
            ("margin", .finite(q.margin)),
            ("given_up", q.givenUp.map(JSONValue.string) ?? .null),
            ("planning_factor", .finite(q.planningFactor)),
            ("arrival_dispersion", .finite(q.arrivalDispersion)),
            ("split", .object(q.split.keys.sorted().map { (String($0), .finite(q.split[$0]!)) })),
            ("confined", .bool(q.confined)),
        ])
    }

    static func cpu(_ c: CPUPlan) -> JSONValue {
        .object([
            ("cpu", .int(c.cpu)),
            ("utilization", .finite(c.utilization)),
            ("watts", .finite(c.power.value)),
        ])
    }
}
