import GearboxCore

/// Decides whether new estimates differ enough from those of the current plan to re-plan:
/// re-planning every tick would make the frequencies chatter with sampling noise.
public struct ReplanPolicy: Sendable {
    /// Relative change of a queue's offered load (rate × work) that triggers a new plan.
    public var hysteresis: Double

    public init(hysteresis: Double) { self.hysteresis = hysteresis }

    public func shouldReplan(planned: Workload?, current: Workload) -> Bool {
        guard let planned else { return true }
        let before = Dictionary(planned.queues.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard before.count == current.queues.count else { return true }
        for queue in current.queues {
            guard let old = before[queue.name], old.target == queue.target, old.cpus == queue.cpus else { return true }
            let oldLoad = old.arrivalRate * old.meanWork
            let newLoad = queue.arrivalRate * queue.meanWork
            if abs(newLoad - oldLoad) > hysteresis * max(oldLoad, 1e-9) { return true }
        }
        return false
    }
}
