#if canImport(Glibc)
import Glibc
#endif
import GearboxLinux
import Synchronization

/// Whether the control loop is alive: idle between events, or busy with one since when.
///
/// A re-plan on a big host or a large config can keep the loop busy for many seconds (a
/// reload of a 1,024-CPU platform, 100 queues). systemd's watchdog must not kill the agent
/// for that, yet it must still fire if the loop is truly stuck. So the watchdog is fed from a
/// thread of its own (`WatchdogFeeder`) while the loop is idle or has been busy for less than
/// `maxBusy`, and status requests are answered from the last state the loop published
/// (`AgentService`) instead of waiting for it.
final class LoopHeartbeat: Sendable {
    private let busySince = Mutex<ContinuousClock.Instant?>(nil)

    func begin() { busySince.withLock { $0 = .now } }
    func end() { busySince.withLock { $0 = nil } }

    /// How long the loop has been on its current event; zero when it is idle.
    var busyFor: Duration {
        busySince.withLock { since in since.map { $0.duration(to: .now) } ?? .zero }
    }
}

/// Feeds systemd's watchdog from a dedicated thread (not the Swift concurrency pool, which a
/// long plan may occupy on a small machine) while the loop's heartbeat says it is alive.
final class WatchdogFeeder: Sendable {
    let notifier: any ServiceNotifying
    let heartbeat: LoopHeartbeat
    let interval: Duration
    let maxBusy: Duration
    private let stopped = Atomic<Bool>(false)
    /// Written by `stop()`, which cuts the thread's wait short.
    private let wakeup = WakeupPipe()
    /// The shortest time between two notifications, whatever `interval` says.
    static let shortestPeriod: Duration = .milliseconds(50)
    /// The thread's name in /proc/PID/task/TID/comm (`top -H`).
    static let threadName = "gearbox-wdog"

    init(notifier: any ServiceNotifying, heartbeat: LoopHeartbeat, interval: Duration, maxBusy: Duration) {
        self.notifier = notifier
        self.heartbeat = heartbeat
        self.interval = interval
        self.maxBusy = maxBusy
    }

    /// Starts feeding at half the interval (systemd's advice). False when no thread could start.
    /// Between two notifications the thread sleeps in one wait, which `stop()` ends.
    func start() -> Bool {
        let period = max(interval / 2, Self.shortestPeriod)
        return DetachedThread.start(name: Self.threadName) { [self] in
            notifyIfAlive()
            var next = ContinuousClock.now + period
            while !stopped.load(ordering: .acquiring) {
                // Woken early: stopped (or a stale signal); look again.
                if wakeup.wait(until: next) { continue }
                notifyIfAlive()
                next = .now + period
            }
        }
    }

    func stop() {
        stopped.store(true, ordering: .releasing)
        wakeup.signal()
    }

    private func notifyIfAlive() {
        if heartbeat.busyFor < maxBusy { notifier.watchdog() }
    }
}
