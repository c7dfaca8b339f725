import GearboxAgent
import GearboxLinux
import Logging

/// sd_notify for the agent: a failed notification is logged, never fatal (the service manager
/// will notice a missing READY or watchdog on its own).
struct SystemdServiceNotifier: ServiceNotifying {
    let notifier = SystemdNotifier()
    let logger: Logger

    func ready() { send { try notifier.ready() } }
    func status(_ line: String) { send { try notifier.status(line) } }
    func watchdog() { send { try notifier.watchdog() } }
    func stopping() { send { try notifier.stopping() } }
    var watchdogInterval: Duration? { notifier.watchdogTimeout }

    private func send(_ body: () throws -> Bool) {
        do {
            _ = try body()
        } catch {
            logger.warning("sd_notify failed: \(error)", metadata: ["event": "fault"])
        }
    }
}
