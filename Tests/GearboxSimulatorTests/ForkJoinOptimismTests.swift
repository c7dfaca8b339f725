import GearboxCore
import GearboxSimulator
import Testing

/// How optimistic docs/model.md's independence approximation is for fork-join k < n, measured
/// (the planner's margin must cover these figures).
@Suite struct ForkJoinOptimismTests {
    /// `P(fewer than k of n subtasks done by t)` for independent exponential subtask
    /// responses of rate `a` (the M/M/1 sojourn on each CPU).
    static func fewerThanDone(_ k: Int, of n: Int, rate a: Double, at t: Double) -> Double {
        let done = 1 - Math.exp(-a * t)
        var sum = 0.0
        for j in 0..<k {
            var binomial = 1.0
            for i in 0..<j { binomial *= Double(n - i) / Double(i + 1) }
            var term = binomial
            for _ in 0..<j { term *= done }
            for _ in 0..<(n - j) { term *= 1 - done }
            sum += term
        }
        return sum
    }

    /// The approximation's mean (Simpson's rule on ∫ P(fewer than k done) dt) and p99.
    static func independence(_ k: Int, of n: Int, rate a: Double) -> (mean: Double, p99: Double) {
        let end = 60 / a, steps = 20_000, h = end / Double(steps)
        var integral = 0.0
        for i in 0...steps {
            let weight: Double = i == 0 || i == steps ? 1 : (i % 2 == 1 ? 4 : 2)
            integral += weight * fewerThanDone(k, of: n, rate: a, at: Double(i) * h)
        }
        var lo = 0.0, hi = end
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if fewerThanDone(k, of: n, rate: a, at: mid) > 0.01 { lo = mid } else { hi = mid }
        }
        return (integral * h / 3, lo)
    }

    static func simulate(k: Int, n: Int, rho: Double, cancel: Bool) -> (mean: ConfidenceInterval, p99: ConfidenceInterval) {
        let partWork = 0.001, lambda = rho / partWork
        let workload = Workload(queues: [
            WorkQueue(name: "fj", arrivalRate: lambda, meanWork: partWork * Double(k),
                      target: LatencyTarget(kind: .mean, seconds: 1),
                      dispatch: .forkJoin(parts: n, needed: k))
        ])
        var configuration = SimulationConfiguration.forCustomers(100_000, rate: lambda, warmUpShare: 0.1)
        configuration.cancelRemainingSubtasks = cancel
        let simulator = Simulator(platform: TestPlatforms.identical(cpus: n, perCPUDomains: true),
                                  workload: workload, configuration: configuration)
        let runs = (1...8).map { seed -> SimulationResult in
            var s = simulator
            s.configuration.seed = UInt64(seed)
            return s.run(policy: .performance)
        }
        return (ConfidenceInterval(runs.map { $0.queues[0].mean }),
                ConfidenceInterval(runs.map { $0.queues[0].p99 }))
    }

    /// Without cancellation the approximation under-estimates both mean and p99; the
    /// figures are printed for the planner's margin.
    @Test(arguments: [(1, 2), (1, 3), (2, 3)])
    func independenceIsOptimisticForKLessThanN(k: Int, n: Int) {
        for rho in [0.3, 0.6] {
            let predicted = Self.independence(k, of: n, rate: 1000 * (1 - rho))
            let measured = Self.simulate(k: k, n: n, rho: rho, cancel: false)
            let meanOptimism = measured.mean.mean / predicted.mean - 1
            let p99Optimism = measured.p99.mean / predicted.p99 - 1
            print("fork-join \(k)-of-\(n) ρ=\(rho): mean \(measured.mean) s vs independence \(predicted.mean) s (+\(100 * meanOptimism) %), p99 \(measured.p99) s vs \(predicted.p99) s (+\(100 * p99Optimism) %)")
            #expect(measured.mean.mean - measured.mean.halfWidth > predicted.mean,
                    "\(k)-of-\(n) at ρ=\(rho): expected the approximation to be optimistic")
        }
    }

    /// Cancelling the remaining subtasks frees their CPUs, so requests finish sooner.
    @Test func cancellingRemainingSubtasksHelps() {
        let keep = Self.simulate(k: 1, n: 2, rho: 0.6, cancel: false)
        let cancel = Self.simulate(k: 1, n: 2, rho: 0.6, cancel: true)
        print("fork-join 1-of-2 ρ=0.6: keep running \(keep.mean) s, cancel \(cancel.mean) s")
        #expect(cancel.mean.mean + cancel.mean.halfWidth < keep.mean.mean - keep.mean.halfWidth)
    }
}
