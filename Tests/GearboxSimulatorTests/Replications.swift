import GearboxCore
import GearboxSimulator

/// A 95 % confidence interval for a mean, from independent replications (Student's t).
struct ConfidenceInterval: CustomStringConvertible {
    var mean: Double
    var halfWidth: Double

    init(_ samples: [Double]) {
        let n = Double(samples.count)
        let m = samples.reduce(0, +) / n
        mean = m
        let variance = samples.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)
        halfWidth = ConfidenceInterval.t975(degreesOfFreedom: samples.count - 1) * (variance / n).squareRoot()
    }

    func contains(_ x: Double) -> Bool { abs(x - mean) <= halfWidth }
    var relativeHalfWidth: Double { halfWidth / mean }
    var description: String { "\(mean) ± \(halfWidth)" }

    /// The 97.5 % quantile of Student's t (a table: the tests use 5–30 replications).
    static func t975(degreesOfFreedom df: Int) -> Double {
        let table: [Double] = [
            12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
            2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
            2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
        ]
        return df <= table.count ? table[df - 1] : 1.96
    }
}

/// Runs `replications` independent runs (seeds 1, 2, …) and collects `measure` of each.
func replicate(
    _ replications: Int, simulator: Simulator, policy: GovernorPolicy,
    _ measure: (SimulationResult) -> Double
) -> [Double] {
    (1...replications).map { seed in
        var s = simulator
        s.configuration.seed = UInt64(seed) &* 7919
        return measure(s.run(policy: policy))
    }
}

/// Hand-made platforms for the closed-form checks.
enum TestPlatforms {
    /// `count` identical CPUs of capacity 1024 in one domain, with these operating points.
    static func identical(
        cpus count: Int, points: [(kilohertz: Int, watts: Double)] = [(1_000_000, 1)],
        idleWatts: Double = 0.1, perCPUDomains: Bool = false
    ) -> Platform {
        let ops = points.map { OperatingPoint(frequency: Kilohertz($0.kilohertz), busyPower: Watts($0.watts)) }
        if perCPUDomains {
            return Platform(domains: (0..<count).map {
                FrequencyDomain(name: "policy\($0)", cpus: [$0], capacity: 1024,
                                idlePower: Watts(idleWatts), operatingPoints: ops)
            })
        }
        return Platform(domains: [
            FrequencyDomain(name: "policy0", cpus: Array(0..<count), capacity: 1024,
                            idlePower: Watts(idleWatts), operatingPoints: ops)
        ])
    }
}

extension SimulationConfiguration {
    /// A configuration for about `customers` arrivals at `rate` after `warmUpShare` warm-up.
    static func forCustomers(_ customers: Double, rate: Double, warmUpShare: Double = 0.05) -> Self {
        var c = SimulationConfiguration()
        c.baselineDispatch = .capacity  // closed forms assume the even split, whatever a planner says
        c.duration = customers / rate
        c.warmUp = c.duration * warmUpShare
        return c
    }
}

/// Hand-made plans for the simulator to follow.
enum TestPlans {
    /// A plan with the same (low, high, p) in every domain of `platform` and a split per queue.
    static func fixed(
        platform: Platform, low: Int, high: Int, pHigh: Double,
        splits: [String: [Int: Double]], ditherPeriod: Double? = nil
    ) -> Plan {
        var speeds: [String: (low: Int, high: Int, p: Double)] = [:]
        for d in platform.domains { speeds[d.name] = (low, high, pHigh) }
        return mixed(platform: platform, speeds: speeds, splits: splits, ditherPeriod: ditherPeriod)
    }

    /// A plan with (low kHz, high kHz, p) per domain name, the docs/model.md θ, and a split per queue.
    static func mixed(
        platform: Platform, speeds: [String: (low: Int, high: Int, p: Double)],
        splits: [String: [Int: Double]], ditherPeriod: Double? = nil
    ) -> Plan {
        let domains = platform.domains.map { d -> DomainPlan in
            let (low, high, p) = speeds[d.name]!
            let sL = d.speed(at: Kilohertz(low)), sH = d.speed(at: Kilohertz(high))
            let theta = (p / sH) / (p / sH + (1 - p) / sL)
            return DomainPlan(name: d.name, cpus: d.cpus, low: Kilohertz(low), high: Kilohertz(high),
                              pHigh: p, timeShareHigh: theta, ditherPeriod: ditherPeriod)
        }
        let queues = splits.keys.sorted().map { name in
            QueuePlan(name: name, target: LatencyTarget(kind: .mean, seconds: 1),
                      predictedLatency: 0, split: splits[name]!)
        }
        return Plan(feasible: true, power: .zero, domains: domains, queues: queues, cpus: [])
    }

    /// docs/model.md's host power for a route-only plan, computed by hand:
    /// `P_i = Σ_q x λ w (p P_H/s_H + (1−p) P_L/s_L) + (1 − ρ_i) P_idle`.
    static func power(platform: Platform, workload: Workload, plan: Plan) -> Double {
        var total = 0.0
        for domain in platform.domains {
            let dp = plan.domains.first { $0.name == domain.name }!
            let sL = domain.speed(at: dp.low), sH = domain.speed(at: dp.high)
            let pL = domain.operatingPoints.first { $0.frequency == dp.low }!.busyPower.value
            let pH = domain.operatingPoints.first { $0.frequency == dp.high }!.busyPower.value
            let p = dp.pHigh
            for cpu in domain.cpus {
                var busyPower = 0.0, rho = 0.0
                for q in workload.queues {
                    let x = plan.queues.first { $0.name == q.name }?.split[cpu] ?? 0
                    let workRate = x * q.arrivalRate * q.meanWork
                    busyPower += workRate * (p * pH / sH + (1 - p) * pL / sL)
                    rho += workRate * (p / sH + (1 - p) / sL)
                }
                total += busyPower + (1 - rho) * domain.idlePower.value
            }
        }
        return total
    }
}

/// A big.LITTLE-like host: two big CPUs (capacity 1024) and two little ones (400).
enum TestHosts {
    static let bigLittle = Platform(domains: [
        FrequencyDomain(
            name: "big", cpus: [0, 1], capacity: 1024, idlePower: Watts(0.05),
            operatingPoints: [(600_000, 0.25), (1_200_000, 0.6), (1_800_000, 1.3), (2_400_000, 2.4)]
                .map { OperatingPoint(frequency: Kilohertz($0.0), busyPower: Watts($0.1)) }),
        FrequencyDomain(
            name: "little", cpus: [2, 3], capacity: 400, idlePower: Watts(0.02),
            operatingPoints: [(500_000, 0.08), (1_000_000, 0.18), (1_500_000, 0.35)]
                .map { OperatingPoint(frequency: Kilohertz($0.0), busyPower: Watts($0.1)) }),
    ])
}
