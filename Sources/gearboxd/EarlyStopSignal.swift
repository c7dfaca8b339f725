#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT from the first instruction on. swift-service-lifecycle traps them only
/// once its service group runs; until then their default action would kill the agent after it
/// may have written cpufreq settings, leaving them to the next start. This handler only
/// records the signal; the agent checks it once the group has taken the signals over, and
/// stops (restoring the original settings) if one came.
enum EarlyStopSignal {
    nonisolated(unsafe) private static var received: sig_atomic_t = 0

    static func install() {
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber) { _ in EarlyStopSignal.received = 1 }
        }
    }

    /// Whether SIGTERM or SIGINT arrived since `install()`.
    static var requested: Bool { received != 0 }
}
