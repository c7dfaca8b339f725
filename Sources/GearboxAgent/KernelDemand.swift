import GearboxCore

/// Kernel-only mode (MODEL.md): with no application queue, each CPU's demand is its busy
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
        var queues: [WorkQueue] = []
        for cpu in busy.keys.sorted() {
            guard let fraction = busy[cpu], let speed = averageSpeed[cpu] else { continue }
            let demand = min(max(fraction, 0), 1) * speed
            guard demand >= minimumDemand else { continue }
            queues.append(WorkQueue(
                name: "cpu\(cpu)", arrivalRate: demand / requestWork, meanWork: requestWork,
                scv: 1, target: target, cpus: [cpu], dispatch: .route))
        }
        return Workload(queues: queues)
    }
}
