import Testing
@testable import GearboxCore

/// Planning confined queues (docs/model.md, "Pools"): the split is a set of CPUs over which
/// the kernel evens out utilisation, so a queue alone on its set gets shares in proportion to
/// the CPUs' planned speeds.
@Suite struct PoolPlanningTests {
    /// A fast and a slow domain, each with a few operating points.
    static let host = Platform(domains: [
        FrequencyDomain(name: "big", cpus: [0, 1], capacity: 1024, idlePower: Watts(0.05),
                        operatingPoints: FrequencyDomain.operatingPoints(
                            frequencies: [1_000_000, 1_500_000, 2_000_000].map(Kilohertz.init),
                            power: ParametricPower(staticWatts: 0.1, dynamicWatts: 1.5))),
        FrequencyDomain(name: "little", cpus: [2, 3], capacity: 512, idlePower: Watts(0.02),
                        operatingPoints: FrequencyDomain.operatingPoints(
                            frequencies: [800_000, 1_200_000, 1_600_000].map(Kilohertz.init),
                            power: ParametricPower(staticWatts: 0.03, dynamicWatts: 0.3))),
    ])

    @Test(arguments: [300.0, 900.0, 1500.0])
    func aConfinedQueueAloneGetsSpeedProportionalSharesAndItsMeanIsMOneSum(rate: Double) throws {
        var queue = WorkQueue(name: "web", arrivalRate: rate, meanWork: 0.001,
                              target: LatencyTarget(kind: .mean, seconds: 0.004))
        queue.confined = true
        let plan = Planner().plan(platform: Self.host, workload: Workload(queues: [queue]))
        #expect(plan.feasible)
        let q = try #require(plan.queues.first)
        #expect(q.confined)
        // Each CPU's speed from the plan's frequencies (ref-s per second, per-request mix).
        var speed: [Int: Double] = [:]
        for d in plan.domains {
            let domain = try #require(Self.host.domains.first { $0.name == d.name })
            let time = d.pHigh / domain.speed(at: d.high) + (1 - d.pHigh) / domain.speed(at: d.low)
            for cpu in d.cpus { speed[cpu] = 1 / time }
        }
        let used = q.split.filter { $0.value > 0 }.keys.sorted()
        let total = used.reduce(0) { $0 + speed[$1]! }
        for cpu in used {
            #expect(abs(q.split[cpu]! - speed[cpu]! / total) < 1e-6, "CPU \(cpu): \(q.split[cpu]!) vs \(speed[cpu]! / total)")
        }
        // Pure speeds: M/M/1 per CPU, E[T] = Σ x_i / (μ_i - x_i λ) with μ_i = s_i / w.
        if plan.domains.allSatisfy({ $0.low == $0.high || $0.pHigh == 1 || $0.pHigh == 0 }) {
            let mean = used.reduce(0.0) { sum, cpu in
                let x = q.split[cpu]!
                return sum + x / (speed[cpu]! / 0.001 - x * rate)
            }
            #expect(abs(q.predictedLatency - mean) < 1e-6 * mean, "\(q.predictedLatency) vs M/M/1 \(mean)")
        }
        #expect(q.predictedLatency <= 0.004 * (1 + 1e-9))
        // The same queue unconfined may be planned differently, but never dearer than confined.
        queue.confined = false
        let free = Planner().plan(platform: Self.host, workload: Workload(queues: [queue]))
        #expect(free.power.value <= plan.power.value * (1 + 1e-9))
    }

    @Test func overlappingConfinedQueuesEvenOutTheirCPUs() throws {
        var a = WorkQueue(name: "a", arrivalRate: 800, meanWork: 0.001, target: LatencyTarget(kind: .mean, seconds: 0.01), cpus: [0, 1, 2, 3])
        var b = WorkQueue(name: "b", arrivalRate: 300, meanWork: 0.001, target: LatencyTarget(kind: .mean, seconds: 0.01), cpus: [0, 1])
        a.confined = true
        b.confined = true
        let plan = Planner().plan(platform: Self.host, workload: Workload(queues: [a, b]))
        #expect(plan.feasible)
        // Where the two meet, the kernel's balance leaves the CPUs of `a`'s set no less even
        // than `a`'s work alone could: a CPU `a` uses is never busier than one it leaves.
        let used = plan.queues[0].split.filter { $0.value > 0.001 }.keys
        let loads = Dictionary(uniqueKeysWithValues: plan.cpus.map { ($0.cpu, $0.utilization) })
        let lightestUsed = used.map { loads[$0]! }.min() ?? 0
        for cpu in plan.queues[0].split.keys where !used.contains(cpu) {
            #expect(loads[cpu]! >= lightestUsed - 1e-6)
        }
    }
}

/// `PoolLatency` (Allen–Cunneen) is exact for M/M/c: its mean and percentiles against the
/// closed forms with Erlang C from factorials.
@Suite struct PoolLatencyTests {
    static func erlangC(servers c: Int, load a: Double) -> Double {
        var term = 1.0, sum = 1.0
        for k in 1..<c {
            term *= a / Double(k)
            sum += term
        }
        let last = term * a / Double(c) * Double(c) / (Double(c) - a)
        return last / (sum + last)
    }

    @Test(arguments: [(4, 3000.0), (2, 1200.0), (8, 7000.0), (1, 600.0)])
    func matchesMMcInClosedForm(servers c: Int, rate: Double) {
        let mu = 1000.0
        let pool = PoolLatency(rate: rate, work: 0.001, scv: 1, speeds: Array(repeating: 1, count: c))
        let wait = Self.erlangC(servers: c, load: rate / mu)
        let mean = wait / (Double(c) * mu - rate) + 1 / mu
        #expect(abs(pool.meanResponse - mean) < 1e-9 * mean)
        // P(T > t) = e^{-μt} + C μ (e^{-μt} - e^{-θt}) / (θ - μ), θ = cμ - λ.
        let theta = Double(c) * mu - rate
        func tail(_ t: Double) -> Double {
            abs(theta - mu) < 1e-9 ? Math.exp(-mu * t) * (1 + wait * mu * t)
                : Math.exp(-mu * t) + wait * mu * (Math.exp(-mu * t) - Math.exp(-theta * t)) / (theta - mu)
        }
        var low = 0.0, high = 1.0
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if tail(middle) > 0.01 { low = middle } else { high = middle }
        }
        #expect(abs(pool.latency(.p99) - high) < 1e-6 * high, "\(pool.latency(.p99)) vs \(high)")
    }

    @Test func anOverloadedPoolIsUnbounded() {
        let pool = PoolLatency(rate: 2000, work: 0.001, scv: 1, speeds: [1, 0.5])
        #expect(pool.meanResponse == .infinity && pool.latency(.p99) == .infinity)
    }
}
