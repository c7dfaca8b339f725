import Foundation
import GearboxCore
import GearboxSimulator
import Testing

/// The measurement behind `ForkJoinMargin`: independence against simulation for every
/// k-of-n on identical M/M/1 CPUs, and the margin's coverage of it. About a minute per
/// load level, so it runs only when asked:
///
///     GEARBOX_CALIBRATE=1 [CAL_N=2,3,4] [CAL_RHO=0.3,0.92] swift test --filter ForkJoinCalibration
@Suite struct ForkJoinCalibration {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["GEARBOX_CALIBRATE"] != nil,
                   "set GEARBOX_CALIBRATE=1 to re-measure the fork-join margin grid (minutes)"))
    func marginCoversMeasuredOptimism() {
        let env = ProcessInfo.processInfo.environment
        let ns = (env["CAL_N"] ?? "2,3,4,5,6,7,8").split(separator: ",").compactMap { Int($0) }
        let rhos = (env["CAL_RHO"] ?? "0.1,0.3,0.5,0.7,0.92").split(separator: ",").compactMap { Double($0) }
        for n in ns {
            for k in 1...n {
                for rho in rhos {
                    let a = 1000 * (1 - rho)
                    let mean = ForkJoinOptimismTests.independence(k, of: n, rate: a).mean
                    let p95 = Self.independentQuantile(0.95, k, of: n, rate: a)
                    let p99 = Self.independentQuantile(0.99, k, of: n, rate: a)
                    let runs = Self.simulate(k: k, n: n, rho: rho)
                    for (kind, independent, measured) in [
                        (LatencyKind.mean, mean, ConfidenceInterval(runs.map { $0.queues[0].mean })),
                        (.p95, p95, ConfidenceInterval(runs.map { $0.queues[0].p95 })),
                        (.p99, p99, ConfidenceInterval(runs.map { $0.queues[0].p99 })),
                    ] {
                        let margin = ForkJoinMargin.margin(kind: kind, needed: k, parts: n, utilization: rho)
                        let optimism = measured.mean / independent - 1
                        print(String(format: "calibration %d-of-%d ρ=%.2f %@: optimism %+.1f %% (± %.1f), margin %.1f %%",
                                     k, n, rho, kind.rawValue, 100 * optimism,
                                     100 * measured.halfWidth / independent, 100 * margin))
                        // k = n: independence is conservative for the mean, and about exact in the tail.
                        let allowance = k == n && kind != .mean ? 0.02 : 0
                        #expect(optimism <= margin + allowance, "\(k)-of-\(n) ρ=\(rho) \(kind.rawValue)")
                    }
                }
            }
        }
    }

    static func independentQuantile(_ level: Double, _ k: Int, of n: Int, rate a: Double) -> Double {
        var lo = 0.0, hi = 60 / a
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if ForkJoinOptimismTests.fewerThanDone(k, of: n, rate: a, at: mid) > 1 - level { lo = mid } else { hi = mid }
        }
        return lo
    }

    static func simulate(k: Int, n: Int, rho: Double) -> [SimulationResult] {
        let partWork = 0.001, lambda = rho / partWork
        let workload = Workload(queues: [
            WorkQueue(name: "fj", arrivalRate: lambda, meanWork: partWork * Double(k),
                      target: LatencyTarget(kind: .mean, seconds: 1), dispatch: .forkJoin(parts: n, needed: k))
        ])
        let configuration = SimulationConfiguration.forCustomers(rho > 0.8 ? 300_000 : 100_000, rate: lambda, warmUpShare: 0.1)
        let simulator = Simulator(platform: TestPlatforms.identical(cpus: n, perCPUDomains: true),
                                  workload: workload, configuration: configuration)
        return (1...6).map { seed in
            var s = simulator
            s.configuration.seed = UInt64(seed)
            return s.run(policy: .performance)
        }
    }
}
