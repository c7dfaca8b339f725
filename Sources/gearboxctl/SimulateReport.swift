import Foundation
import GearboxCore
import GearboxSimulator

/// `simulate --json`'s object (docs/formats.md): one run's energy and per-queue latency.
struct SimulateReport: Codable, Equatable {
    struct Queue: Codable, Equatable {
        var name: String
        var arrived: Int
        var completed: Int
        var mean_ms: Double?
        var p95_ms: Double?
        var p99_ms: Double?
        var target_ms: Double
        var kind: String
        var met: Bool
        /// Half-width of the 95 % interval of the target's statistic (batch means).
        var ci95_ms: Double?
        /// The target lies inside that interval: a longer run is needed to decide.
        var undecided: Bool
        /// gearbox's feedback: planning target over the real one at the end, the smallest it
        /// reached, and how often it moved (null for other policies).
        var planning_factor: Double?
        var smallest_planning_factor: Double?
        var feedback_moves: Int?
    }
    struct Domain: Codable, Equatable {
        var name: String
        var switches: Int
        var mean_busy_mhz: Double
    }
    struct CPU: Codable, Equatable {
        var cpu: Int
        var utilization: Double
        var energy_joules: Double
    }

    var policy: String
    var realisation: String
    var duration_s: Double
    var warm_up_s: Double
    var seed: UInt64
    var energy_joules: Double
    var power_watts: Double
    var queues: [Queue]
    var domains: [Domain]
    var cpus: [CPU]
    var events: Int
    var plans: Int
    /// Whether the last plan the policy installed was feasible (null for baselines).
    var feasible: Bool?

    init(_ r: SimulationResult, configuration: SimulationConfiguration) {
        func ms(_ seconds: Double) -> Double? { seconds.isFinite ? seconds * 1000 : nil }
        policy = r.policy
        realisation = r.realisation.rawValue
        duration_s = r.duration
        warm_up_s = configuration.warmUp
        seed = configuration.seed
        energy_joules = r.energyJoules
        power_watts = r.power.value
        queues = r.queues.map {
            Queue(name: $0.name, arrived: $0.arrived, completed: $0.completed, mean_ms: ms($0.mean),
                  p95_ms: ms($0.p95), p99_ms: ms($0.p99), target_ms: $0.target.milliseconds,
                  kind: $0.target.kind.rawValue, met: $0.met, ci95_ms: ms($0.halfWidth),
                  undecided: $0.undecided)
        }
        if r.policy == "gearbox" {
            for q in queues.indices {
                let correction = r.feedback[queues[q].name] ?? .init()
                queues[q].planning_factor = correction.factor
                queues[q].smallest_planning_factor = correction.smallest
                queues[q].feedback_moves = correction.moves
            }
        }
        domains = r.domains.map {
            Domain(name: $0.name, switches: $0.switches, mean_busy_mhz: $0.meanBusyKilohertz / 1000)
        }
        cpus = r.cpus.map { CPU(cpu: $0.cpu, utilization: $0.utilization, energy_joules: $0.energyJoules) }
        events = r.events
        plans = r.plans
        feasible = r.lastPlanFeasible
    }

    /// Sorted keys, so the output is the same bit for bit from run to run.
    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }
}
