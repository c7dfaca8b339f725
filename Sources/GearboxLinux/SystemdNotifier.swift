import CSystemd
import Glibc

/// Tells the service manager about the daemon's state through `sd_notify(3)`:
/// READY=1, STATUS=, WATCHDOG=1, RELOADING=1, STOPPING=1. Does nothing when
/// `NOTIFY_SOCKET` is unset (not started by systemd as `Type=notify`).
public struct SystemdNotifier: Sendable {
    /// One assignment in a notification message.
    public enum State: Sendable, Equatable {
        /// Start-up is finished (`READY=1`).
        case ready
        /// The daemon is re-reading its configuration (`RELOADING=1`).
        case reloading
        /// The daemon is shutting down (`STOPPING=1`).
        case stopping
        /// The daemon is alive (`WATCHDOG=1`).
        case watchdog
        /// A one-line status for `systemctl status` (`STATUS=`); line breaks become spaces.
        case status(String)

        /// The `NAME=value` line sent for this state.
        public var assignment: String {
            switch self {
            case .ready: return "READY=1"
            case .reloading: return "RELOADING=1"
            case .stopping: return "STOPPING=1"
            case .watchdog: return "WATCHDOG=1"
            case .status(let text):
                return "STATUS=" + String(text.map { $0.isNewline ? " " : $0 })
            }
        }
    }

    public init() {}

    /// Whether notifications go anywhere: `NOTIFY_SOCKET` is set.
    public var isEnabled: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// Sends `states` in one message. Returns false when `NOTIFY_SOCKET` is unset (nothing
    /// sent). Calls `sd_notify(3)`.
    @discardableResult
    public func notify(_ states: [State]) throws(SystemdNotifierError) -> Bool {
        let message = states.map(\.assignment).joined(separator: "\n")
        let result = sd_notify(0, message)
        if result < 0 { throw SystemdNotifierError(message: message, errno: -result) }
        return result > 0
    }

    /// READY=1, with a first STATUS= line when given.
    @discardableResult
    public func ready(status: String? = nil) throws(SystemdNotifierError) -> Bool {
        try notify([.ready] + (status.map { [.status($0)] } ?? []))
    }

    /// STATUS= for `systemctl status`.
    @discardableResult
    public func status(_ text: String) throws(SystemdNotifierError) -> Bool {
        try notify([.status(text)])
    }

    /// WATCHDOG=1: the daemon is alive. Send every `watchdogPingInterval`.
    @discardableResult
    public func watchdog() throws(SystemdNotifierError) -> Bool {
        try notify([.watchdog])
    }

    /// STOPPING=1, with a last STATUS= line when given.
    @discardableResult
    public func stopping(status: String? = nil) throws(SystemdNotifierError) -> Bool {
        try notify([.stopping] + (status.map { [.status($0)] } ?? []))
    }

    /// The watchdog timeout systemd enforces (`WatchdogSec=`, passed as `WATCHDOG_USEC`),
    /// nil when the watchdog is off or meant for another process (`WATCHDOG_PID`).
    /// Calls `sd_watchdog_enabled(3)`.
    public var watchdogTimeout: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(clamping: microseconds))
    }

    /// How often to send WATCHDOG=1: half the timeout, as sd_watchdog_enabled(3) advises.
    public var watchdogPingInterval: Duration? {
        watchdogTimeout.map { $0 / 2 }
    }
}
