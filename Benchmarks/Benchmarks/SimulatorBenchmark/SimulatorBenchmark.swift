import Benchmark
import GearboxCore
import GearboxSimulator

/// Simulated events per second on one core (issue 4 goal: at least 5 million), and memory
/// against run length (it must stay flat: histograms, not per-request records).
///
/// The host: 8 CPUs in two 4-CPU domains of 8 operating points, two route queues (mean and
/// p99 targets) at about 60 % load, gearbox re-planning every second, time-share dither.
enum SimulatorHost {
    static func make() -> (Platform, Workload) {
        let points = FrequencyDomain.operatingPoints(
            frequencies: stride(from: 1_200_000, through: 2_600_000, by: 200_000).map(Kilohertz.init),
            power: ParametricPower(staticWatts: 0.3, dynamicWatts: 2.5))
        let platform = Platform(domains: [0, 4].map { first in
            FrequencyDomain(name: "policy\(first)", cpus: Array(first..<(first + 4)), capacity: 1024,
                            idlePower: Watts(0.05), operatingPoints: points, transitionLatencyMicroseconds: 20)
        })
        let workload = Workload(queues: [
            WorkQueue(name: "web", arrivalRate: 1_500, meanWork: 0.002, target: LatencyTarget(kind: .mean, seconds: 0.010)),
            WorkQueue(name: "rpc", arrivalRate: 3_000, meanWork: 0.0006, scv: 1.5,
                      target: LatencyTarget(kind: .p99, seconds: 0.015)),
        ])
        return (platform, workload)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .peakMemoryResident, .mallocCountTotal],
        warmupIterations: 1,
        maxDuration: .seconds(20),
        maxIterations: 20
    )
    let (platform, workload) = SimulatorHost.make()
    // Throughput is reported per iteration; events per iteration are printed once so that
    // events per second = events × iterations per second.
    for seconds in [10.0, 100.0] {
        for policy in [GovernorPolicy.gearbox, .schedutil] {
            var configuration = SimulationConfiguration()
            configuration.duration = seconds
            configuration.warmUp = 1
            let simulator = Simulator(platform: platform, workload: workload, configuration: configuration)
            let events = simulator.run(policy: policy).events
            Benchmark("simulate \(policy) \(Int(seconds)) s (\(events) events)") { benchmark in
                for _ in benchmark.scaledIterations {
                    blackHole(simulator.run(policy: policy))
                }
            }
        }
    }
}
