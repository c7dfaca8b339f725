import GearboxCore
import Logging

/// Drives every domain's two-speed schedule from one timer task, writing only when a
/// domain's frequency changes (`DitherEngine` keeps the schedule and the debts of late
/// switches). Generic over the clock so tests can drive time; the agent runs the same
/// engine on a dedicated thread instead (`DitherThread`).
public actor DitherTimer<C: Clock> where C.Duration == Duration {
    var engine: DitherEngine<C>
    /// The longest the loop sleeps, so a new schedule's first switch is at most this late.
    let idleWake: Duration

    public init(clock: C, applier: PlanApplier, idleWake: Duration = .milliseconds(50)) {
        engine = DitherEngine(clock: clock, applier: applier)
        self.idleWake = idleWake
    }

    /// Replaces the schedule: its first period starts now and its first frequencies are written at once.
    public func update(_ schedule: DitherSchedule) {
        engine.update(schedule)
    }

    /// Follows a new plan: clears holds left by failed writes, then runs the plan's schedule
    /// (τ floored at max(1 ms, 10 × transition latency), see `DitherSchedule(plan:platform:)`).
    public func follow(_ plan: Plan, platform: Platform) {
        engine.follow(plan, platform: platform)
    }

    /// Runs until the task is cancelled. Leaves the domains as they are: call `restore()`.
    public func run() async {
        while !Task.isCancelled {
            engine.applyDue()
            let now = engine.clock.now
            var wake = now.advanced(by: idleWake)
            if let due = engine.nextDue(), due < wake { wake = due }
            do {
                try await engine.clock.sleep(until: wake, tolerance: nil)
            } catch {
                return
            }
        }
    }

    /// Writes each lane whose frequency must change at this instant.
    func applyDue() {
        engine.applyDue()
    }

    /// The next instant at which some lane must switch, or nil when none will.
    func nextDue() -> C.Instant? {
        engine.nextDue()
    }

    /// Puts every domain back to the settings saved before the first write.
    @discardableResult
    public func restore() -> [String] {
        engine.restore()
    }

    /// Each domain's last written frequency.
    public var frequencies: [String: Kilohertz] { engine.applier.frequencies }
    /// Domains held at their last good setting after a failed write.
    public var heldDomains: [String] { engine.applier.heldDomains }
    /// A copy of the applier as it stands (its saved snapshot included), to keep using after
    /// the timer stops.
    public var applierSnapshot: PlanApplier { engine.applier }
}
