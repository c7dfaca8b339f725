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

    /// /proc/stat counts time in USER_HZ ticks, 100 a second on every Linux ABI: a busy
    /// fraction over `interval` seconds is a count of about 100 × `interval` of them.
    public static let userHZ = 100.0

    /// Standard deviation of a busy fraction near `busy` measured over `interval` seconds: each
    /// jiffy is busy or not (binomial). Ten jiffies a tick at 100 ms read a CPU 40 % busy as
    /// anything from 10 % to 70 %, far wider than a Poisson count of 2 ms requests would vary.
    public static func busyDeviation(busy: Double, interval: Double) -> Double {
        let jiffies = max(1, userHZ * interval)
        let p = min(max(busy, 0.01), 0.99)
        return (p * (1 - p) / jiffies).squareRoot()
    }

    /// Whether `busy` over `interval` at `speed` is a burst above `estimate` (requests per
    /// second): beyond `estimate.burstDeviations` standard deviations of a Poisson count of
    /// requests (`SmoothedRate.isBurst`) and of the jiffy count both, so that the sampling of
    /// /proc/stat alone does not re-plan.
    public func isBurst(busy: Double, speed: Double, interval: Double, estimate: SmoothedRate) -> Bool {
        guard let rate = estimate.value, speed > 0, interval > 0,
              estimate.isBurst(count: requestRate(busy: busy, speed: speed) * interval, over: interval) else { return false }
        let expected = min(rate * requestWork / speed, 1)
        return busy > expected + estimate.burstDeviations * Self.busyDeviation(busy: expected, interval: interval)
    }

    /// The rate a burst is believed to show: its busy fraction less two jiffy deviations (as a
    /// live queue's burst counts its requests less two Poisson deviations), never below `estimate`.
    public func burstRate(busy: Double, speed: Double, interval: Double, estimate: SmoothedRate) -> Double {
        let low = busy - 2 * Self.busyDeviation(busy: busy, interval: interval)
        return max(estimate.value ?? 0, requestRate(busy: low, speed: speed))
    }

    /// Requests per second of the typical size that keep a CPU `busy` of the time at `speed`.
    public func requestRate(busy: Double, speed: Double) -> Double {
        min(max(busy, 0), 1) * speed / requestWork
    }

    /// The name of CPU `cpu`'s queue.
    public static func queueName(cpu: Int) -> String { "cpu\(cpu)" }

    /// One queue per CPU from (smoothed) request rates.
    public func workload(requestRates: [Int: Double]) -> Workload {
        var queues: [WorkQueue] = []
        for cpu in requestRates.keys.sorted() {
            let rate = requestRates[cpu]!
            guard rate * requestWork >= minimumDemand else { continue }
            queues.append(WorkQueue(
                name: Self.queueName(cpu: cpu), arrivalRate: rate, meanWork: requestWork,
                scv: 1, target: target, cpus: [cpu], dispatch: .route))
        }
        return Workload(queues: queues)
    }
}
