import Benchmark
import GearboxCore

/// Plan time for hosts of 4, 16, 64 and 256 domains of 4 CPUs with 4 queues (issue 2).
/// Goal: under 1 ms at 64 domains / 256 CPUs on one core.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        warmupIterations: 3,
        maxDuration: .seconds(5),
        maxIterations: 2_000
    )
    for hybrid in [false, true] {
        for domains in [4, 16, 64, 256] {
            let (platform, workload) = BenchmarkHost.make(domains: domains, hybrid: hybrid)
            let kind = hybrid ? "hybrid" : "uniform"
            Benchmark("plan \(kind) \(domains) domains \(domains * 4) CPUs") { benchmark in
                for _ in benchmark.scaledIterations {
                    blackHole(Planner().plan(platform: platform, workload: workload))
                }
            }
        }
    }
}
