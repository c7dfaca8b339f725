import Logging
import Synchronization

/// Logs each fault once when it starts and once when it clears, however many ticks it lasts:
/// a full state filesystem or a lost source must not write a line every tick, and an operator
/// must still see when it went away.
final class FaultLog: Sendable {
    private let active = Mutex<Set<String>>([])
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Records that the fault `key` is present; logs `message` at warning only when it is new.
    func report(_ key: String, _ message: @autoclosure () -> String, metadata: Logger.Metadata = [:]) {
        let new = active.withLock { $0.insert(key).inserted }
        guard new else { return }
        var fields = metadata
        fields["event"] = "fault"
        fields["fault"] = "\(key)"
        logger.warning("\(message())", metadata: fields)
    }

    /// Records that the fault `key` is gone; logs `message` at notice only when it was present.
    func clear(_ key: String, _ message: @autoclosure () -> String, metadata: Logger.Metadata = [:]) {
        let was = active.withLock { $0.remove(key) != nil }
        guard was else { return }
        var fields = metadata
        fields["event"] = "fault_cleared"
        fields["fault"] = "\(key)"
        logger.notice("\(message())", metadata: fields)
    }
}
