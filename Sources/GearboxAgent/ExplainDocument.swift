#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GearboxControl
import GearboxCore

/// Why the plan is what it is (`gearboxctl explain`): per queue, which constraint binds and
/// what a millisecond of latency is worth in watts.
///
/// The marginal is measured, not guessed: the planner re-plans with the queue's target
/// loosened and tightened by `relativeStep`, and the difference in planned power divided by
/// the change in target is reported (central where both sides are feasible, else one-sided).
/// The planner's choices are discrete (hull points), so the one-sided figures are given too.
public enum ExplainDocument {
    /// Targets are moved by this fraction either way for the finite difference.
    public static let relativeStep = 0.05

    /// The explanation of the planner's plan for `workload`; `plan` is the plan in force
    /// (overrides applied), whose domains the document shows.
    public static func json(platform: Platform, workload: Workload, plan: Plan, planner: Planner) -> JSONValue {
        json(platform: platform, workload: workload, plan: plan, maxUtilization: planner.configuration.maxUtilization) {
            planner.plan(platform: platform, workload: $0)
        }
    }

    /// The same with any planning function (tests use closed forms).
    public static func json(
        platform: Platform, workload: Workload, plan: Plan, maxUtilization: Double,
        replan: (Workload) -> Plan
    ) -> JSONValue {
        let base = replan(workload)
        let queues = workload.queues.indices.map { index in
            queueExplanation(index, workload: workload, base: base, inForce: plan, platform: platform,
                             maxUtilization: maxUtilization, replan: replan)
        }
        return .object([
            ("feasible", .bool(plan.feasible)),
            ("power_watts", .finite(plan.power.value)),
            ("step_fraction", .finite(relativeStep)),
            ("queues", .array(queues)),
            ("domains", .array(plan.domains.map { domain($0, platform: platform) })),
        ])
    }

    static func domain(_ d: DomainPlan, platform: Platform) -> JSONValue {
        let hardware = platform.domains.first { $0.name == d.name }
        return .object([
            ("name", .string(d.name)),
            ("low_khz", .int(d.low.value)),
            ("high_khz", .int(d.high.value)),
            ("p_high", .finite(d.pHigh)),
            ("at_lowest", .bool(hardware.map { d.high == $0.minFrequency } ?? false)),
            ("at_highest", .bool(hardware.map { d.low == $0.maxFrequency } ?? false)),
            ("note", d.fallbackReason.map(JSONValue.string) ?? .null),
        ])
    }

    /// Power of the plan with queue `index`'s target scaled by `factor`.
    static func power(_ index: Int, scaledBy factor: Double, workload: Workload, replan: (Workload) -> Plan) -> Plan {
        var changed = workload
        changed.queues[index].target.seconds *= factor
        return replan(changed)
    }

    static func queueExplanation(
        _ index: Int, workload: Workload, base: Plan, inForce: Plan, platform: Platform,
        maxUtilization: Double, replan: (Workload) -> Plan
    ) -> JSONValue {
        let queue = workload.queues[index]
        let planned = base.queues.first { $0.name == queue.name }
        let stepMs = queue.target.milliseconds * relativeStep
        let loose = power(index, scaledBy: 1 + relativeStep, workload: workload, replan: replan)
        let tight = power(index, scaledBy: 1 - relativeStep, workload: workload, replan: replan)
        let p0 = base.power.value
        let saved = base.feasible && loose.feasible ? (p0 - loose.power.value) / stepMs : nil
        let added = base.feasible && tight.feasible ? (tight.power.value - p0) / stepMs : nil
        let marginal: Double? = saved.flatMap { s in added.map { a in (a + s) / 2 } ?? s }
        let cpus = Set((planned?.split ?? [:]).filter { $0.value > 0 }.keys)
        let utilization = base.cpus.filter { cpus.contains($0.cpu) }.map(\.utilization).max()
        let touched = platform.domains.filter { !Set($0.cpus).isDisjoint(with: cpus) }
        let atLowest = !touched.isEmpty && touched.allSatisfy { d in base.domains.first { $0.name == d.name }?.high == d.minFrequency }
        let pinned = inForce.domains.contains { d in d.fallbackReason == "pinned by an override" && !Set(d.cpus).isDisjoint(with: cpus) }
        let predicted = planned?.predictedLatency ?? .infinity
        let slackMs = queue.target.milliseconds - predicted * 1000
        let binding = Binding.classify(
            feasible: base.feasible && (planned?.meetsTarget ?? false), slackFraction: slackMs / queue.target.milliseconds,
            savesWhenLoosened: (saved ?? 0) * stepMs > Binding.powerResolution * abs(p0),
            utilization: utilization, maxUtilization: maxUtilization, atLowest: atLowest)
        return .object([
            ("name", .string(queue.name)),
            ("kind", .string(queue.target.kind.rawValue)),
            ("target_ms", .finite(queue.target.milliseconds)),
            ("predicted_ms", .finite(predicted * 1000)),
            ("slack_ms", .finite(slackMs)),
            ("max_utilization", utilization.map(JSONValue.finite) ?? .null),
            ("binding", .string(binding.rawValue)),
            ("reason", .string(binding.reason(queue: queue, predictedMs: predicted * 1000, slackMs: slackMs,
                                               utilization: utilization, saved: saved))),
            ("marginal_watts_per_ms", marginal.map(JSONValue.finite) ?? .null),
            ("watts_saved_per_ms_looser", saved.map(JSONValue.finite) ?? .null),
            ("watts_added_per_ms_tighter", added.map(JSONValue.finite) ?? .null),
            ("step_ms", .finite(stepMs)),
            ("pinned", .bool(pinned)),
            ("given_up", planned?.givenUp.map(JSONValue.string) ?? .null),
            ("planning_factor", .finite(inForce.queues.first { $0.name == queue.name }?.planningFactor ?? 1)),
            ("arrival_dispersion", .finite(inForce.queues.first { $0.name == queue.name }?.arrivalDispersion ?? 1)),
            ("burst_bound", .bool((inForce.queues.first { $0.name == queue.name }?.arrivalDispersion ?? 1) > 1)),
            ("cpus", .string(CPUList.format(inForce.queues.first { $0.name == queue.name }?.split.filter { $0.value > 0 }.keys.sorted() ?? []))),
            ("confined", .bool(queue.confined)),
        ])
    }

    /// The constraint that decides a queue's share of the plan.
    enum Binding: String {
        case latencyTarget = "latency_target"
        case utilizationCap = "utilization_cap"
        case lowestSpeed = "lowest_speed"
        case none
        case infeasible

        /// Within this fraction of the target, the target counts as binding even if a 5 % step
        /// does not move the planner off its discrete choice.
        static let tightSlack = 0.02
        /// Within this of ρ_max, the utilisation cap counts as reached.
        static let capTolerance = 0.005
        /// A change in planned power smaller than this fraction of it is the planner's
        /// numerical noise, not a saving.
        static let powerResolution = 1e-4

        static func classify(
            feasible: Bool, slackFraction: Double, savesWhenLoosened: Bool,
            utilization: Double?, maxUtilization: Double, atLowest: Bool
        ) -> Binding {
            if !feasible { return .infeasible }
            if savesWhenLoosened || slackFraction <= tightSlack { return .latencyTarget }
            if let u = utilization, u >= maxUtilization - capTolerance { return .utilizationCap }
            return atLowest ? .lowestSpeed : .none
        }

        func reason(queue: WorkQueue, predictedMs: Double, slackMs: Double, utilization: Double?, saved: Double?) -> String {
            let target = "\(queue.target.kind.rawValue) target \(Self.show(queue.target.milliseconds)) ms"
            let rho = utilization.map { "utilisation up to \(Self.show($0, digits: 3))" } ?? "no CPU use"
            switch self {
            case .infeasible:
                return "no plan meets the \(target) even at top speed: best predicted \(Self.show(predictedMs)) ms"
            case .latencyTarget:
                var worth = ""
                if let saved, saved >= 0 {
                    worth = ", each ms more would save \(Self.watts(saved)) W"
                } else if let saved {
                    // Honest about a planner that is not monotone: a looser target cost more.
                    worth = "; a looser target made the planner's plan dearer by \(Self.watts(-saved)) W per ms"
                }
                return "the \(target) binds: predicted \(Self.show(predictedMs)) ms\(worth)"
            case .utilizationCap:
                return "a CPU it uses is at the utilisation cap (\(rho)); the \(target) has \(Self.show(slackMs)) ms of slack"
            case .lowestSpeed:
                return "its CPUs already run at their lowest frequency; the \(target) has \(Self.show(slackMs)) ms of slack"
            case .none:
                return "nothing of this queue binds within a \(Self.show(ExplainDocument.relativeStep * 100, digits: 0)) % step: \(Self.show(slackMs)) ms of slack, \(rho); other queues on its CPUs or the frequency steps set the speed"
            }
        }

        /// Three significant digits: marginals range from microwatts (phones) to watts (servers).
        static func watts(_ x: Double) -> String {
            var buffer = [CChar](repeating: 0, count: 64)
            let length = withVaList([x]) { vsnprintf(&buffer, buffer.count, "%.3g", $0) }
            return String(decoding: buffer.prefix(max(0, min(Int(length), buffer.count - 1))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        static func show(_ x: Double, digits: Int = 2) -> String {
            guard x.isFinite else { return "unbounded" }
            var scale = 1.0
            for _ in 0..<digits { scale *= 10 }
            return String((x * scale).rounded() / scale)
        }
    }
}
