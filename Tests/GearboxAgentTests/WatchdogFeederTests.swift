import Foundation
@testable import GearboxAgent
import GearboxTestSupport
import Glibc
import Synchronization
import Testing

/// The watchdog thread sleeps from one notification to the next in a single wait: it does not
/// wake in between, `stop()` ends the wait at once, and it feeds every half interval while the
/// loop's heartbeat says the loop is alive.
@Suite struct WatchdogFeederTests {
    /// Records when each notification came and from which thread.
    final class RecordingNotifier: ServiceNotifying {
        let notifications = Mutex<[(thread: Int32?, at: ContinuousClock.Instant)]>([])
        func ready() {}
        func status(_ line: String) {}
        func watchdog() {
            let thread = ThreadWakeups.currentThreadID
            notifications.withLock { $0.append((thread, .now)) }
        }
        func stopping() {}
        var watchdogInterval: Duration? { nil }
        var count: Int { notifications.withLock { $0.count } }
    }

    @Test func theFeederDoesNotWakeBetweenNotificationsAndStopEndsItsWait() throws {
        let notifier = RecordingNotifier()
        // A 10 min interval: the next notification is 5 min away.
        let feeder = WatchdogFeeder(notifier: notifier, heartbeat: LoopHeartbeat(), interval: .seconds(600), maxBusy: .seconds(300))
        try #require(feeder.start())
        try #require(waitFor(seconds: 30) { notifier.count == 1 }, "the first notification comes at once")
        let thread = try #require(notifier.notifications.withLock { $0[0].thread })
        let before = try #require(ThreadWakeups.voluntarySwitches(of: thread))
        // A 1.5 s window: a thread looking every 50 ms would sleep and wake about 30 times.
        let end = ContinuousClock.now + .milliseconds(1500)
        while ContinuousClock.now < end { usleep(100_000) }
        let woke = try #require(ThreadWakeups.voluntarySwitches(of: thread)) - before
        #expect(woke <= 2, "the watchdog thread woke \(woke) times in 1.5 s with nothing to do")
        #expect(notifier.count == 1)

        feeder.stop()
        #expect(waitFor(seconds: 10) { !ThreadWakeups.exists(thread) }, "stop() did not end the 5 min wait")
        #expect(notifier.count == 1, "no notification after stop()")
    }

    @Test func theFeederFeedsEveryHalfIntervalOnlyWhileTheLoopIsAlive() throws {
        let notifier = RecordingNotifier()
        let heartbeat = LoopHeartbeat()
        // Busy for longer than 1 ns: stuck, as far as this feeder knows.
        heartbeat.begin()
        let feeder = WatchdogFeeder(notifier: notifier, heartbeat: heartbeat, interval: .milliseconds(200), maxBusy: .nanoseconds(1))
        try #require(feeder.start())
        defer { feeder.stop() }
        // Five periods of 100 ms or more (a loaded machine only makes them longer).
        let end = ContinuousClock.now + .milliseconds(500)
        while ContinuousClock.now < end { usleep(50_000) }
        #expect(notifier.count == 0, "fed while the loop was stuck")

        heartbeat.end()
        #expect(waitFor(seconds: 30) { notifier.count >= 4 }, "not fed once the loop was idle again")
        let times = notifier.notifications.withLock { $0.map(\.at) }
        for (earlier, later) in zip(times, times.dropFirst()) {
            #expect(earlier.duration(to: later) >= .milliseconds(100), "fed sooner than every half interval: \(times)")
        }
    }
}
