import GearboxCore

/// Kernel-only mode (docs/model.md): with no application queue, each CPU's demand is its busy
/// fraction times its speed, cast as a stream of requests of a typical size on that CPU alone.
/// The split is then the kernel scheduler's; the plan chooses speeds only.
public struct KernelDemand: Sendable {
    public var requestWork: Double
    public var target: LatencyTarget
    /// CPUs below this utilisation of work (ref-s/s) get no queue: they idle at the lowest speed.
    public var minimumDemand: Double = 1e-4

    public init(requestWork: Double, target: LatencyTarget) {
        self.requestWork = requestWork
        self.target = target
    }

    /// One queue per busy CPU. `averageSpeed` is each CPU's mean speed over the sampled
    /// interval (ref-s per second), `busy` its busy fraction in [0, 1].
    public func workload(busy: [Int: Double], averageSpeed: [Int: Double]) -> Workload {
        var rates: [Int: Double] = [:]
        for (cpu, fraction) in busy {
            if let speed = averageSpeed[cpu] { rates[cpu] = requestRate(busy: fraction, speed: speed) }
        }
        return workload(requestRates: rates)
    }

    /// Requests per second of the typical size that keep a CPU `busy` of the time at `speed`.
    public func requestRate(busy: Double, speed: Double) -> Double {
        min(max(busy, 0), 1) * speed / requestWork
    }

    /// One queue per CPU from (smoothed) request rates.
    public func workload(requestRates: [Int: Double]) -> Workload {
        var queues: [WorkQueue] = []
        for cpu in requestRates.keys.sorted() {
            let rate = requestRates[cpu]!
            guard rate * requestWork >= minimumDemand else { continue }
            queues.append(WorkQueue(
                name: "cpu\(cpu)", arrivalRate: rate, meanWork: requestWork,
                scv: 1, target: target, cpus: [cpu], dispatch: .route))
        }
        return Workload(queues: queues)
    }
}
