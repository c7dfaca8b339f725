import GearboxCore

/// One gauge value the metrics file exposes: a metric family, its labels and its value.
struct MetricSample: Hashable, Sendable {
    var family: MetricFamily
    var labels: [String: String]
    var value: Double

    /// The gauge families gearbox writes, with their help text (Prometheus base units: seconds, hertz).
    enum MetricFamily: String, CaseIterable, Sendable {
        case plannedWatts = "gearbox_planned_watts"
        case planFeasible = "gearbox_plan_feasible"
        case overridesActive = "gearbox_overrides_active"
        case domainFrequency = "gearbox_domain_frequency_hertz"
        case domainPHigh = "gearbox_domain_p_high"
        case domainTimeShareHigh = "gearbox_domain_time_share_high"
        case domainPinned = "gearbox_domain_pinned"
        case queueTarget = "gearbox_queue_target_seconds"
        case queuePredicted = "gearbox_queue_predicted_latency_seconds"
        case queueMeasured = "gearbox_queue_measured_latency_seconds"
        case queueArrivalRate = "gearbox_queue_arrival_rate_per_second"
        case queueWork = "gearbox_queue_mean_work_seconds"
        case queueStale = "gearbox_queue_stale"
        case measuredWatts = "gearbox_rapl_watts"

        var help: String {
            switch self {
            case .plannedWatts: "CPU power the plan in force predicts, in watts"
            case .planFeasible: "1 when the plan meets every latency target, 0 when no plan can"
            case .overridesActive: "Operator overrides in force"
            case .domainFrequency: "Frequency of a cpufreq domain: the plan's low and high speeds and the one last written"
            case .domainPHigh: "Probability that a request runs at the high speed (the plan's p)"
            case .domainTimeShareHigh: "Fraction of each dither period at the high speed (theta)"
            case .domainPinned: "1 when an override pins the domain's frequency"
            case .queueTarget: "Latency target of a queue, of the kind in the kind label"
            case .queuePredicted: "Latency the plan predicts for a queue, of the kind in the kind label"
            case .queueMeasured: "Mean response time measured from the queue's histogram over the last window"
            case .queueArrivalRate: "Estimated arrival rate of a queue, requests per second"
            case .queueWork: "Estimated mean work per request, in reference-seconds"
            case .queueStale: "1 when the queue's statistics source stopped answering (kernel-only fallback)"
            case .measuredWatts: "Power measured from a RAPL energy counter over the last interval, in watts"
            }
        }
    }

    /// The gauges for one status snapshot; `measuredWatts` per RAPL zone (`zone`, `name`).
    static func samples(_ status: AgentStatus, measuredWatts: [(zone: String, name: String, watts: Double)]) -> [MetricSample] {
        var out: [MetricSample] = []
        func add(_ family: MetricFamily, _ labels: [String: String], _ value: Double?) {
            guard let value, value.isFinite else { return }
            out.append(MetricSample(family: family, labels: labels, value: value))
        }
        add(.overridesActive, [:], Double(status.overrides.active.count))
        if let plan = status.plan {
            add(.plannedWatts, [:], plan.power.value)
            add(.planFeasible, [:], plan.feasible ? 1 : 0)
        }
        let pins = status.overrides.pins(on: status.platform)
        for domain in status.platform.domains {
            let name = ["domain": domain.name]
            add(.domainPinned, name, pins[domain.name] == nil ? 0 : 1)
            add(.domainFrequency, name.merging(["level": "current"]) { $1 }, status.currentFrequencies[domain.name].map { Double($0.value) * 1000 })
            guard let planned = status.plan?.domains.first(where: { $0.name == domain.name }) else { continue }
            add(.domainFrequency, name.merging(["level": "low"]) { $1 }, Double(planned.low.value) * 1000)
            add(.domainFrequency, name.merging(["level": "high"]) { $1 }, Double(planned.high.value) * 1000)
            add(.domainPHigh, name, planned.pHigh)
            add(.domainTimeShareHigh, name, planned.timeShareHigh)
        }
        for name in status.queueNames {
            let estimate = status.workload.queues.first { $0.name == name }
            let planned = status.plan?.queues.first { $0.name == name }
            add(.queueStale, ["queue": name], status.staleQueues[name] == nil ? 0 : 1)
            add(.queueArrivalRate, ["queue": name], estimate?.arrivalRate)
            add(.queueWork, ["queue": name], estimate?.meanWork)
            add(.queueMeasured, ["queue": name, "kind": "mean"], status.measuredLatency[name])
            if let target = planned?.target ?? estimate?.target {
                add(.queueTarget, ["queue": name, "kind": target.kind.rawValue], target.seconds)
            }
            if let planned {
                add(.queuePredicted, ["queue": name, "kind": planned.target.kind.rawValue], planned.predictedLatency)
            }
        }
        for zone in measuredWatts {
            add(.measuredWatts, ["zone": zone.zone, "name": zone.name], zone.watts)
        }
        return out
    }
}
