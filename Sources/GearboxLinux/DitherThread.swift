#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import GearboxCore

/// The agent's dither: `DitherEngine` on a thread of its own that sleeps on a condition
/// variable until the next switch (or a new plan), rather than on the Swift concurrency
/// pool. On a host of many domains the dither wakes thousands of times a second; a task
/// sleep costs a dispatch timer, a semaphore post and a pool thread's wake-up each time,
/// and a busy pool delays it. Every method may be called from any thread.
public final class DitherThread: @unchecked Sendable {
    // Everything below is guarded by `mutex`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var engine: DitherEngine<MonotonicClock>
    private var thread: pthread_t?
    /// Set while `start()` creates the thread, so two callers never start two.
    private var starting = false
    private var stopping = false
    /// The longest the thread sleeps before a switch that is due later, in ns.
    private let idleWake: Int64

    /// `slackFraction`: see `DitherEngine`; 10 % of each lane's period by default, so that
    /// lanes due within a millisecond or two of each other share one wake-up. Where edges are
    /// dense (a hundred dithering domains) wake-ups fall in proportion to the slack, and each
    /// costs tens of microseconds of scheduling; the share at H stays θ (`DitherEngine`), and
    /// edges off the schedule by up to three slacks keep the latency model's promise
    /// (docs/agent.md, TimeShareTests).
    public init(applier: PlanApplier, idleWake: Duration = .milliseconds(50), slackFraction: Double = 0.10) {
        engine = DitherEngine(clock: MonotonicClock(), applier: applier, slackFraction: slackFraction)
        self.idleWake = DitherSchedule.nanoseconds(idleWake)
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        stop()
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Follows a new plan (its first frequencies are written before this returns) and starts
    /// the thread if it is not running.
    public func follow(_ plan: Plan, platform: Platform) {
        locked {
            engine.follow(plan, platform: platform)
            pthread_cond_signal(condition)
        }
        start()
    }

    /// Replaces the schedule, as `follow` does for a plan.
    public func update(_ schedule: DitherSchedule) {
        locked {
            engine.update(schedule)
            pthread_cond_signal(condition)
        }
        start()
    }

    private func start() {
        let mine = locked {
            guard thread == nil, !starting else { return false }
            starting = true
            return true
        }
        guard mine else { return }
        let context = Unmanaged.passRetained(self).toOpaque()
        var id = pthread_t()
        let status = pthread_create(&id, nil, { context in
            let me = Unmanaged<DitherThread>.fromOpaque(context!).takeRetainedValue()
            me.loop()
            return nil
        }, context)
        if status != 0 { Unmanaged<DitherThread>.fromOpaque(context).release() }
        locked {
            if status == 0 { thread = id }
            starting = false
        }
    }

    private func loop() {
        pthread_mutex_lock(mutex)
        while !stopping {
            guard let due = engine.step() else {
                // Nothing dithers (every domain on one speed): sleep until a new plan or a
                // stop signals, rather than wake for nothing. Both change the engine under
                // the mutex this wait releases, so no signal is missed.
                pthread_cond_wait(condition, mutex)
                continue
            }
            let now = MonotonicClock.nanosecondsNow()
            let wake = min(now + idleWake, due.nanoseconds)
            if wake > now {
                var deadline = timespec(tv_sec: Int(wake / 1_000_000_000), tv_nsec: Int(wake % 1_000_000_000))
                pthread_cond_timedwait(condition, mutex, &deadline)
            }
        }
        pthread_mutex_unlock(mutex)
    }

    /// Stops the thread (waits for it); the domains stay as they are.
    public func stop() {
        let id: pthread_t? = locked {
            stopping = true
            pthread_cond_signal(condition)
            return thread
        }
        if let id { pthread_join(id, nil) }
        locked {
            thread = nil
            stopping = false
        }
    }

    /// Stops the thread and puts every domain back to the settings saved before the first write.
    @discardableResult
    public func restore() -> [String] {
        stop()
        return locked { engine.restore() }
    }

    /// Writes every setting of `plan` again, as if nothing had been written (PlanApplier.forgetWritten).
    public func reapply(_ plan: Plan, platform: Platform) {
        locked {
            engine.applier.forgetWritten()
            engine.follow(plan, platform: platform)
            pthread_cond_signal(condition)
        }
        start()
    }

    /// Domains whose settings someone else changed (PlanApplier.changedBehindOurBack).
    public func changedBehindOurBack() -> [String] {
        locked { engine.applier.changedBehindOurBack() }
    }

    /// How each domain's frequency is set, by domain name.
    public var mechanisms: [String: String] { locked { engine.applier.mechanisms } }

    /// Each domain's last written frequency.
    public var frequencies: [String: Kilohertz] { locked { engine.applier.frequencies } }
    /// Domains held at their last good setting after a failed write.
    public var heldDomains: [String] { locked { engine.applier.heldDomains } }
    /// A copy of the applier as it stands (its saved snapshot included).
    public var applierSnapshot: PlanApplier { locked { engine.applier } }
}

/// CLOCK_MONOTONIC as a Swift clock, so the dither thread's deadlines are the instants its
/// condition variable waits for.
public struct MonotonicClock: Clock {
    public struct Instant: InstantProtocol {
        public var nanoseconds: Int64
        public func advanced(by duration: Duration) -> Instant {
            Instant(nanoseconds: nanoseconds + DitherSchedule.nanoseconds(duration))
        }
        public func duration(to other: Instant) -> Duration { .nanoseconds(other.nanoseconds - nanoseconds) }
        public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }
    }

    public init() {}

    public static func nanosecondsNow() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    public var now: Instant { Instant(nanoseconds: Self.nanosecondsNow()) }
    public var minimumResolution: Duration { .nanoseconds(1) }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let wait = deadline.nanoseconds - Self.nanosecondsNow()
        if wait > 0 { try await Task.sleep(for: .nanoseconds(wait)) }
    }
}
