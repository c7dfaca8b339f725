import GearboxCore
import Logging

/// Drives every domain's two-speed schedule from one timer, writing only when a domain's
/// frequency changes. Generic over the clock so tests can drive time.
public actor DitherTimer<C: Clock> where C.Duration == Duration {
    let clock: C
    var applier: PlanApplier
    var schedule = DitherSchedule(lanes: [])
    var epoch: C.Instant
    /// The longest the loop sleeps when no lane changes, so a new schedule's first switch is
    /// at most this late.
    let idleWake: Duration

    public init(clock: C, applier: PlanApplier, idleWake: Duration = .milliseconds(50)) {
        self.clock = clock
        self.applier = applier
        self.epoch = clock.now
        self.idleWake = idleWake
    }

    /// Replaces the schedule: its period starts now and its first frequencies are written at once.
    public func update(_ schedule: DitherSchedule) {
        self.schedule = schedule
        epoch = clock.now
        applyDue()
    }

    /// Runs until the task is cancelled. Leaves the domains as they are: call `restore()`.
    public func run() async {
        while !Task.isCancelled {
            applyDue()
            let elapsed = epoch.duration(to: clock.now)
            let next = schedule.nextChange(after: elapsed).map { min($0, elapsed + idleWake) } ?? elapsed + idleWake
            do {
                try await clock.sleep(until: epoch.advanced(by: next), tolerance: nil)
            } catch {
                return
            }
        }
    }

    /// Writes each lane whose frequency at this instant differs from the last one written.
    func applyDue() {
        let elapsed = epoch.duration(to: clock.now)
        for (domain, frequency) in schedule.frequencies(at: elapsed) {
            applier.setFrequency(frequency, domain: domain)
        }
    }

    /// Puts every domain back to the settings saved before the first write.
    @discardableResult
    public func restore() -> [String] {
        schedule = DitherSchedule(lanes: [])
        return applier.restore()
    }

    /// Follows a new plan: clears holds left by failed writes, then runs the plan's schedule
    /// (τ floored at max(1 ms, 10 × transition latency), see `DitherSchedule(plan:platform:)`).
    public func follow(_ plan: Plan, platform: Platform) {
        applier.clearHolds()
        update(DitherSchedule(plan: plan, platform: platform))
    }

    /// The applier's state, for status reports.
    public var frequencies: [String: Kilohertz] { applier.frequencies }
    public var heldDomains: [String] { applier.heldDomains }
}

extension DitherTimer {
    /// A copy of the applier as it stands (its saved snapshot included), to keep using after
    /// the timer stops.
    public var applierSnapshot: PlanApplier { applier }
}
