import GearboxCore
import Testing
@testable import GearboxSimulator

/// The `pool` dispatch of confined queues (docs/model.md, "Pools"): one waiting line served by
/// the set's CPUs, checked against M/M/c (Erlang C) in closed form.
@Suite struct PoolDispatchTests {
    /// Four identical CPUs at one fixed speed (1 ref-s of work per second each).
    static let quad = Platform(domains: [
        FrequencyDomain(name: "quad", cpus: [0, 1, 2, 3], capacity: 1024, idlePower: Watts(0.1),
                        operatingPoints: [OperatingPoint(frequency: Kilohertz(1_000_000), busyPower: Watts(1))]),
    ])

    /// Erlang C: the probability that an arrival waits in M/M/c with offered load `a` (< c).
    static func erlangC(servers c: Int, load a: Double) -> Double {
        var term = 1.0, sum = 1.0
        for k in 1..<c {
            term *= a / Double(k)
            sum += term
        }
        let last = term * a / Double(c) * Double(c) / (Double(c) - a)
        return last / (sum + last)
    }

    static func run(confined: Bool) -> QueueOutcome {
        var queue = WorkQueue(name: "web", arrivalRate: 3000, meanWork: 0.001,
                              target: LatencyTarget(kind: .mean, seconds: 0.01))
        queue.confined = confined
        var configuration = SimulationConfiguration()
        configuration.duration = 60
        configuration.warmUp = 2
        let plan = TestPlans.fixed(platform: quad, low: 1_000_000, high: 1_000_000, pHigh: 1,
                                   splits: ["web": [0: 0.25, 1: 0.25, 2: 0.25, 3: 0.25]])
        return Simulator(platform: quad, workload: Workload(queues: [queue]), configuration: configuration)
            .run(policy: .fixed(plan)).queues[0]
    }

    @Test func aPoolOfFourWaitsAsMMFour() {
        let pool = Self.run(confined: true)
        // λ = 3000/s, μ = 1000/s per CPU, c = 4: a = 3, E[T] = C(4, 3) / (cμ - λ) + 1/μ.
        let expected = Self.erlangC(servers: 4, load: 3) / (4000 - 3000) + 0.001
        #expect(abs(pool.mean - expected) <= pool.halfWidth + 0.01 * expected,
                "pool mean \(pool.mean * 1000) ms ± \(pool.halfWidth * 1000), M/M/4 \(expected * 1000) ms")
        // Random routing over the same CPUs is four M/M/1 queues at 750/s: E[T] = 1 / (μ - λ/4).
        let routed = Self.run(confined: false)
        let perCPU = 1 / (1000.0 - 750)
        #expect(abs(routed.mean - perCPU) <= routed.halfWidth + 0.01 * perCPU,
                "routed mean \(routed.mean * 1000) ms ± \(routed.halfWidth * 1000), M/M/1 \(perCPU * 1000) ms")
        print("M/M/4 pool: simulated \(pool.mean * 1000) ms, Erlang C \(expected * 1000) ms; routed \(routed.mean * 1000) ms, M/M/1 \(perCPU * 1000) ms")
    }
}
