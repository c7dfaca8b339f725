import GearboxCore
import Logging

/// Drives every domain's two-speed schedule from one timer, writing only when a domain's
/// frequency changes. Generic over the clock so tests can drive time.
///
/// Each period starts at the schedule's edge (kτ after the schedule began). The H→L edge is
/// placed so that the domain's time at H, counted from the instants the writes were actually
/// made, reaches θτ per period: a late wake-up (a busy machine) shortens or lengthens one
/// interval, and the next period's H interval pays it back (debts up to one period), so the
/// share over a run stays θ instead of drifting with the timer's lateness.
public actor DitherTimer<C: Clock> where C.Duration == Duration {
    /// One lane's bookkeeping of actual time at H.
    struct LaneState {
        /// When the lane was switched to H, while it is there.
        var highSince: C.Instant?
        /// Time at H in finished H intervals since the schedule began.
        var accumulated: Duration = .zero
        /// The period whose H interval was last started (-1: none yet).
        var period: Int64 = -1
    }

    let clock: C
    var applier: PlanApplier
    var schedule = DitherSchedule(lanes: [])
    var states: [LaneState] = []
    var epoch: C.Instant
    /// The longest the loop sleeps, so a new schedule's first switch is at most this late.
    let idleWake: Duration

    public init(clock: C, applier: PlanApplier, idleWake: Duration = .milliseconds(50)) {
        self.clock = clock
        self.applier = applier
        self.epoch = clock.now
        self.idleWake = idleWake
    }

    /// Replaces the schedule: its first period starts now and its first frequencies are written at once.
    public func update(_ schedule: DitherSchedule) {
        self.schedule = schedule
        states = Array(repeating: LaneState(), count: schedule.lanes.count)
        epoch = clock.now
        applyDue()
    }

    /// Follows a new plan: clears holds left by failed writes, then runs the plan's schedule
    /// (τ floored at max(1 ms, 10 × transition latency), see `DitherSchedule(plan:platform:)`).
    public func follow(_ plan: Plan, platform: Platform) {
        applier.clearHolds()
        update(DitherSchedule(plan: plan, platform: platform))
    }

    /// Runs until the task is cancelled. Leaves the domains as they are: call `restore()`.
    public func run() async {
        while !Task.isCancelled {
            applyDue()
            let now = clock.now
            var wake = now.advanced(by: idleWake)
            if let due = nextDue(), due < wake { wake = due }
            do {
                try await clock.sleep(until: wake, tolerance: nil)
            } catch {
                return
            }
        }
    }

    /// Writes each lane whose frequency must change at this instant.
    func applyDue() {
        let elapsed = DitherSchedule.nanoseconds(epoch.duration(to: clock.now))
        for i in schedule.lanes.indices {
            let lane = schedule.lanes[i]
            if lane.isSteady {
                applier.setFrequency(lane.frequency(atNanoseconds: 0), domain: lane.domain)
                continue
            }
            if let since = states[i].highSince {
                guard clock.now >= since.advanced(by: remainingHigh(i)) else { continue }
                applier.setFrequency(lane.low, domain: lane.domain)
                // The frequency changes when the store returns: count time at H up to then.
                states[i].accumulated += since.duration(to: clock.now)
                states[i].highSince = nil
                continue
            }
            let period = elapsed / lane.periodNanoseconds
            guard period > states[i].period else {
                applier.setFrequency(lane.low, domain: lane.domain)
                continue
            }
            states[i].period = period
            // The error carried into this period (time at H owed, or taken in excess, because
            // the process was late to switch) is repaid up to one period's worth either way;
            // beyond that it is forgiven, so a long stop (a suspend) pins the domain at neither
            // speed afterwards.
            let ideal = lane.highNanoseconds * period
            let carried = DitherSchedule.nanoseconds(states[i].accumulated) - ideal
            if abs(carried) > lane.periodNanoseconds {
                states[i].accumulated = .nanoseconds(ideal + (carried > 0 ? 1 : -1) * lane.periodNanoseconds)
            }
            if remainingHigh(i) > .zero {
                applier.setFrequency(lane.high, domain: lane.domain)
                states[i].highSince = clock.now
            } else {
                applier.setFrequency(lane.low, domain: lane.domain)
            }
        }
    }

    /// Time at H still owed in the current period's H interval.
    private func remainingHigh(_ i: Int) -> Duration {
        let lane = schedule.lanes[i]
        return .nanoseconds(lane.highNanoseconds * (states[i].period + 1)) - states[i].accumulated
    }

    /// The next instant at which some lane must switch, or nil when none will.
    func nextDue() -> C.Instant? {
        var due: C.Instant?
        for i in schedule.lanes.indices where !schedule.lanes[i].isSteady {
            let next = states[i].highSince.map { $0.advanced(by: remainingHigh(i)) }
                ?? epoch.advanced(by: .nanoseconds(schedule.lanes[i].periodNanoseconds * (states[i].period + 1)))
            if due == nil || next < due! { due = next }
        }
        return due
    }

    /// Puts every domain back to the settings saved before the first write.
    @discardableResult
    public func restore() -> [String] {
        schedule = DitherSchedule(lanes: [])
        states = []
        return applier.restore()
    }

    /// Each domain's last written frequency.
    public var frequencies: [String: Kilohertz] { applier.frequencies }
    /// Domains held at their last good setting after a failed write.
    public var heldDomains: [String] { applier.heldDomains }
    /// A copy of the applier as it stands (its saved snapshot included), to keep using after
    /// the timer stops.
    public var applierSnapshot: PlanApplier { applier }
}
