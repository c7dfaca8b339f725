import GearboxCore

/// The dither's bookkeeping, free of any thread or task: which lane switches when, and the
/// writes. `DitherTimer` (an actor, tests drive it with a manual clock) and `DitherThread`
/// (the agent's dedicated thread) both run it. Generic over the clock so tests can drive time.
///
/// Each period starts at the schedule's edge (kτ after the schedule began). The H→L edge is
/// placed so that the domain's time at H, counted from the instants the writes were actually
/// made, reaches θτ per period: a late wake-up (a busy machine) shortens or lengthens one
/// interval, and the next period's H interval pays it back (debts up to one period), so the
/// share over a run stays θ instead of drifting with the timer's lateness.
///
/// Times are kept in nanoseconds since the schedule began, and each lane keeps the instant
/// it is next due, so a wake-up touches only the lanes that switch then.
struct DitherEngine<C: Clock> where C.Duration == Duration {
    /// One lane's bookkeeping of actual time at H.
    struct LaneState {
        /// When the lane was switched to H (ns since the epoch), while it is there.
        var highSince: Int64?
        /// Time at H in finished H intervals since the schedule began, in ns.
        var accumulated: Int64 = 0
        /// The period whose H interval was last started (-1: none yet).
        var period: Int64 = -1
        /// When the lane must next be looked at (ns since the epoch); `Int64.max`: never.
        var due: Int64 = .max
    }

    /// A lane as the engine runs it: the schedule's figures, and the applier's lane it writes.
    struct Lane {
        var low: Kilohertz
        var high: Kilohertz
        var periodNanoseconds: Int64
        var highNanoseconds: Int64
        var steady: Bool
        /// How far from its due instant a switch may be made, to share a wake-up with others.
        var slack: Int64
        /// The applier's index for the domain; nil when the host has no such domain.
        var target: Int?
        var domain: String
    }

    let clock: C
    var applier: PlanApplier
    private(set) var schedule = DitherSchedule(lanes: [])
    private(set) var lanes: [Lane] = []
    private(set) var states: [LaneState] = []
    private(set) var epoch: C.Instant
    /// Each lane may switch up to this fraction of its period before or after its due instant
    /// (0: exactly when due): a wake-up comes at most this late for the earliest due switch and
    /// takes every switch due up to this much after it. A switch made early or late is paid
    /// back in the next period like any late wake-up, so the share over a run stays θ; an
    /// edge lands at most three times this fraction of τ from the exact schedule's.
    let slackFraction: Double

    init(clock: C, applier: PlanApplier, slackFraction: Double = 0) {
        self.clock = clock
        self.applier = applier
        self.epoch = clock.now
        self.slackFraction = slackFraction
    }

    /// Nanoseconds from the epoch to now.
    func elapsed() -> Int64 { DitherSchedule.nanoseconds(epoch.duration(to: clock.now)) }

    /// The instant `nanoseconds` after the epoch.
    func instant(_ nanoseconds: Int64) -> C.Instant { epoch.advanced(by: .nanoseconds(nanoseconds)) }

    /// Replaces the schedule: its first period starts now and its first frequencies are written at once.
    mutating func update(_ schedule: DitherSchedule) {
        self.schedule = schedule
        lanes = schedule.lanes.map { lane in
            Lane(low: lane.low, high: lane.high, periodNanoseconds: lane.periodNanoseconds,
                 highNanoseconds: lane.highNanoseconds, steady: lane.isSteady,
                 slack: Int64(Double(lane.periodNanoseconds) * slackFraction),
                 target: applier.laneIndex(named: lane.domain), domain: lane.domain)
        }
        states = Array(repeating: LaneState(due: 0), count: lanes.count)
        epoch = clock.now
        applyDue()
    }

    /// Follows a new plan: clears holds left by failed writes, then runs the plan's schedule
    /// (τ floored at max(1 ms, 10 × transition latency), see `DitherSchedule(plan:platform:)`).
    mutating func follow(_ plan: Plan, platform: Platform) {
        applier.clearHolds()
        update(DitherSchedule(plan: plan, platform: platform))
        applier.applyProfile(plan)
    }

    /// Writes each lane whose frequency must change at this instant (within its slack).
    mutating func applyDue() {
        let now = elapsed()
        for i in lanes.indices where states[i].due <= now || states[i].due - lanes[i].slack <= now {
            // A lane taken early starts its period as if it were due.
            advance(i, elapsed: max(now, states[i].due))
        }
    }

    private mutating func set(_ frequency: Kilohertz, lane i: Int) {
        if let target = lanes[i].target {
            applier.setFrequency(frequency, lane: target)
        } else {
            applier.setFrequency(frequency, domain: lanes[i].domain)
        }
    }

    /// One lane's switch, at `elapsed` ns (as read when the wake-up began).
    private mutating func advance(_ i: Int, elapsed: Int64) {
        let lane = lanes[i]
        if lane.steady {
            set(lane.low == lane.high || lane.highNanoseconds == 0 ? lane.low : lane.high, lane: i)
            states[i].due = .max
            return
        }
        if let since = states[i].highSince {
            set(lane.low, lane: i)
            // The frequency changes when the store returns: count time at H up to then.
            states[i].accumulated += self.elapsed() - since
            states[i].highSince = nil
            states[i].due = nextDue(i)
            return
        }
        let period = elapsed / lane.periodNanoseconds
        guard period > states[i].period else {
            set(lane.low, lane: i)
            states[i].due = nextDue(i)
            return
        }
        states[i].period = period
        // The error carried into this period (time at H owed, or taken in excess, because
        // the process was late to switch) is repaid up to one period's worth either way;
        // beyond that it is forgiven, so a long stop (a suspend) pins the domain at neither
        // speed afterwards.
        let ideal = lane.highNanoseconds * period
        let carried = states[i].accumulated - ideal
        if abs(carried) > lane.periodNanoseconds {
            states[i].accumulated = ideal + (carried > 0 ? 1 : -1) * lane.periodNanoseconds
        }
        if remainingHigh(i) > 0 {
            set(lane.high, lane: i)
            states[i].highSince = self.elapsed()
        } else {
            set(lane.low, lane: i)
        }
        states[i].due = nextDue(i)
    }

    /// Time at H still owed in the current period's H interval, in ns.
    private func remainingHigh(_ i: Int) -> Int64 {
        lanes[i].highNanoseconds * (states[i].period + 1) - states[i].accumulated
    }

    /// When lane `i` must next switch: the end of its H interval, or the next period's start.
    private func nextDue(_ i: Int) -> Int64 {
        if let since = states[i].highSince { return since + remainingHigh(i) }
        return lanes[i].periodNanoseconds * (states[i].period + 1)
    }

    /// The next instant (ns since the epoch) at which some lane must switch, at the latest its
    /// slack allows, or nil when none will.
    func nextDueNanoseconds() -> Int64? {
        var due = Int64.max
        for i in states.indices where states[i].due != .max {
            due = min(due, states[i].due + lanes[i].slack)
        }
        return due == .max ? nil : due
    }

    /// `applyDue()`, then the next instant at which some lane must switch (nil: none will).
    /// One mutating call, so a thread holding the engine in a class property runs it in place.
    mutating func step() -> C.Instant? {
        applyDue()
        return nextDue()
    }

    /// The next instant at which some lane must switch, or nil when none will.
    func nextDue() -> C.Instant? {
        nextDueNanoseconds().map(instant)
    }

    /// Puts every domain back to the settings saved before the first write.
    mutating func restore() -> [String] {
        schedule = DitherSchedule(lanes: [])
        lanes = []
        states = []
        return applier.restore()
    }
}
