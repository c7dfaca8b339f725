#if canImport(Glibc)
import Glibc
#endif
import CSystemd
import GearboxCore
import Logging
import Synchronization

/// What the power-profiles D-Bus face shows and changes; the agent keeps the state.
public protocol PowerProfilesBackend: Sendable {
    var active: PowerProfile { get }
    var holds: [ProfileSelection.Hold] { get }
    /// Changes whenever the active profile or the holds change, for PropertiesChanged.
    var generation: UInt64 { get }
    /// A user chose a profile (the `ActiveProfile` property was set).
    func choose(_ profile: PowerProfile, by who: String)
    func hold(_ profile: PowerProfile, reason: String, applicationID: String, holder: String) throws(ProfileSelection.HoldRefusal) -> ProfileSelection.Hold
    func release(cookie: UInt32, holder: String) -> ProfileSelection.Hold?
    func releaseAll(holder: String) -> [ProfileSelection.Hold]
    /// Cookies of holds ended other than by `ReleaseProfile` (a user's choice ends them all).
    func takeEndedHolds() -> [UInt32]
    /// logind said the machine woke up (`PrepareForSleep(false)`).
    func resumed()
    /// Calls `wake` (on any thread, holding no lock) after every change of `generation`, so
    /// the bus announces it at once; replaces the function given before.
    func onGenerationChange(_ wake: @escaping @Sendable () -> Void)
}

/// The power-profiles-daemon D-Bus API on the system bus, through sd-bus, under both names
/// clients use: `org.freedesktop.UPower.PowerProfiles` at `/org/freedesktop/UPower/PowerProfiles`
/// and `net.hadess.PowerProfiles` at `/net/hadess/PowerProfiles` (docs/laptops.md).
///
/// Everything sd-bus touches runs on one thread of its own. It sleeps in `poll(2)` on the bus
/// connection and a wake-up pipe, which the backend writes to when the profile or the holds
/// change elsewhere (the power source, the control socket) and `stop()` writes to: it wakes
/// for bus traffic, a change to announce, or stopping, and never on a timer while idle.
public final class PowerProfilesBus: Sendable {
    public struct Configuration: Sendable {
        /// Members of this group may switch and hold profiles when polkit is not running.
        public var groupName: String?
        public var version: String
        public init(groupName: String?, version: String) {
            self.groupName = groupName
            self.version = version
        }
    }

    static let names: [(name: String, path: String)] = [
        ("org.freedesktop.UPower.PowerProfiles", "/org/freedesktop/UPower/PowerProfiles"),
        ("net.hadess.PowerProfiles", "/net/hadess/PowerProfiles"),
    ]
    /// The polkit actions power-profiles-daemon defines.
    static let switchAction = "net.hadess.PowerProfiles.switch-profile"
    static let holdAction = "net.hadess.PowerProfiles.hold-profile"
    /// Longest reason or application id a client may send.
    public static let maximumStringBytes = 256
    /// How long the thread sleeps when no wake-up pipe could be made: it then looks for
    /// changes to announce on this timer.
    static let fallbackPollInterval: Duration = .milliseconds(100)
    static let reconnectInterval: Duration = .seconds(5)
    /// The longest `stop()` waits for the thread to close its connection.
    static let stopTimeout: Duration = .seconds(1)
    /// The thread's name in /proc/PID/task/TID/comm (`top -H`).
    public static let threadName = "gearbox-dbus"

    let backend: any PowerProfilesBackend
    let configuration: Configuration
    let logger: Logger
    private let running = Atomic<Bool>(false)
    private let finished = Mutex<Bool>(true)
    /// Written by the backend on a change and by `stop()`; the bus thread polls it.
    let wakeup = WakeupPipe()
    /// Written by the bus thread when it has finished; `stop()` waits on it.
    private let finishedSignal = WakeupPipe()
    /// True once both names are owned (for tests and `status`).
    private let serving = Atomic<Bool>(false)

    public init(backend: any PowerProfilesBackend, configuration: Configuration, logger: Logger) {
        self.backend = backend
        self.configuration = configuration
        self.logger = logger
    }

    public var isServing: Bool { serving.load(ordering: .acquiring) }

    /// Starts the bus thread; false when no thread could be started.
    @discardableResult
    public func start() -> Bool {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return true }
        finished.withLock { $0 = false }
        backend.onGenerationChange { [wakeup] in wakeup.signal() }
        let started = DetachedThread.start(name: Self.threadName) { [self] in
            serve()
            finished.withLock { $0 = true }
            finishedSignal.signal()
        }
        if !started {
            running.store(false, ordering: .releasing)
            finished.withLock { $0 = true }
        }
        return started
    }

    /// Stops the thread and waits (at most `stopTimeout`) until it closed its connection.
    public func stop() {
        running.store(false, ordering: .releasing)
        wakeup.signal()
        let deadline = ContinuousClock.now + Self.stopTimeout
        // A signal left from an earlier run only makes the loop look again.
        while !finished.withLock({ $0 }) {
            guard finishedSignal.wait(until: deadline) else { return }
        }
    }

    private var isRunning: Bool { running.load(ordering: .acquiring) }

    private func serve() {
        var reportedFailure = false
        while isRunning {
            do throws(BusFailure) {
                let connection = try BusConnection(server: self)
                if reportedFailure { logger.notice("power-profiles D-Bus API served again", metadata: ["event": "dbus"]) }
                reportedFailure = false
                serving.store(true, ordering: .releasing)
                connection.run()
                serving.store(false, ordering: .releasing)
                connection.close()
            } catch {
                if !reportedFailure {
                    logger.warning("power-profiles D-Bus API not served, trying again every \(Self.reconnectInterval.components.seconds) s: \(error)",
                                   metadata: ["event": "fault"])
                    reportedFailure = true
                }
            }
            // One wait that `stop()` cuts short; a change signalled meanwhile only wakes it.
            let retry = ContinuousClock.now + Self.reconnectInterval
            while isRunning && wakeup.wait(until: retry) {}
        }
    }

    struct BusFailure: Error, CustomStringConvertible {
        var description: String
        init(_ step: String, _ code: Int32) { description = "\(step): \(String(cString: strerror(-code)))" }
    }

    /// One connection to the system bus and what is registered on it; bus thread only.
    final class BusConnection {
        let bus: OpaquePointer
        let server: PowerProfilesBus
        var shownGeneration: UInt64

        init(server: PowerProfilesBus) throws(BusFailure) {
            self.server = server
            var opened: OpaquePointer?
            let r = sd_bus_open_system(&opened)
            guard r >= 0, let opened else { throw BusFailure("cannot connect to the system bus", r) }
            bus = opened
            shownGeneration = server.backend.generation
            let userdata = Unmanaged.passUnretained(self).toOpaque()
            let table = gearbox_power_profiles_vtable(propertyGetter, activeProfileSetter, holdProfileHandler, releaseProfileHandler)
            for (name, path) in PowerProfilesBus.names {
                let added = sd_bus_add_object_vtable(bus, nil, path, name, table, userdata)
                guard added >= 0 else { close(); throw BusFailure("cannot register \(path)", added) }
            }
            var match = gearbox_bus_match_signal(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                                 "NameOwnerChanged", nameOwnerChangedHandler, userdata)
            if match >= 0 {
                match = gearbox_bus_match_signal(bus, "org.freedesktop.login1", "/org/freedesktop/login1",
                                                 "org.freedesktop.login1.Manager", "PrepareForSleep", prepareForSleepHandler, userdata)
            }
            guard match >= 0 else { close(); throw BusFailure("cannot subscribe to bus signals", match) }
            for (name, _) in PowerProfilesBus.names {
                let r = sd_bus_request_name(bus, name, 0)
                guard r >= 0 else {
                    close()
                    throw BusFailure(r == -EEXIST ? "\(name) is owned by another program (power-profiles-daemon or tuned-ppd?)"
                                                  : "cannot own \(name)", r)
                }
            }
            server.logger.info("serving the power-profiles D-Bus API", metadata: ["event": "dbus"])
        }

        func close() {
            sd_bus_flush_close_unref(bus)
        }

        func run() {
            while server.isRunning {
                let r = sd_bus_process(bus, nil)
                if r < 0 {
                    server.logger.warning("lost the system bus: \(String(cString: strerror(-r)))", metadata: ["event": "fault"])
                    return
                }
                if r > 0 { continue }
                announceChanges()
                guard waitForWork() else { return }
            }
        }

        /// Sleeps until the bus has traffic, sd-bus's own timeout passes (a call awaiting its
        /// reply), or the wake-up pipe is written; false when the bus cannot be waited on.
        func waitForWork() -> Bool {
            let fd = sd_bus_get_fd(bus)
            let events = sd_bus_get_events(bus)
            var until: UInt64 = 0
            guard fd >= 0, events >= 0, sd_bus_get_timeout(bus, &until) >= 0 else { return false }
            var timeout = Self.pollTimeout(untilMonotonicMicroseconds: until)
            if !server.wakeup.isUsable {
                let fallback = WakeupPipe.pollTimeout(PowerProfilesBus.fallbackPollInterval)
                timeout = timeout < 0 ? fallback : min(timeout, fallback)
            }
            var entries = [pollfd(fd: fd, events: Int16(truncatingIfNeeded: events), revents: 0),
                           pollfd(fd: server.wakeup.readDescriptor, events: Int16(POLLIN), revents: 0)]
            let r = poll(&entries, nfds_t(entries.count), timeout)
            if r < 0 { return errno == EINTR }
            if entries[1].revents != 0 { server.wakeup.drain() }
            return true
        }

        /// sd_bus_get_timeout(3)'s absolute CLOCK_MONOTONIC time as poll(2)'s timeout: -1
        /// (none) for `UInt64.max`, else the milliseconds left, rounded up.
        static func pollTimeout(untilMonotonicMicroseconds until: UInt64) -> Int32 {
            guard until != .max else { return -1 }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let nowMicroseconds = UInt64(now.tv_sec) &* 1_000_000 &+ UInt64(now.tv_nsec / 1000)
            guard until > nowMicroseconds else { return 0 }
            return Int32(clamping: (until - nowMicroseconds + 999) / 1000)
        }

        /// PropertiesChanged on both objects, and ProfileReleased for holds a user's choice ended.
        func announceChanges() {
            for cookie in server.backend.takeEndedHolds() { emitReleased(cookie) }
            let now = server.backend.generation
            guard now != shownGeneration else { return }
            shownGeneration = now
            for (name, path) in PowerProfilesBus.names { _ = gearbox_bus_emit_profile_changes(bus, path, name) }
        }

        func emitReleased(_ cookie: UInt32) {
            for (name, path) in PowerProfilesBus.names { _ = gearbox_bus_emit_u32(bus, path, name, "ProfileReleased", cookie) }
        }
    }
}

// MARK: - Handlers (C function pointers: they capture nothing and find the connection in userdata)

private func connection(_ userdata: UnsafeMutableRawPointer?) -> PowerProfilesBus.BusConnection {
    Unmanaged<PowerProfilesBus.BusConnection>.fromOpaque(userdata!).takeUnretainedValue()
}

private let propertyGetter: sd_bus_property_get_t = { _, _, _, property, reply, userdata, _ in
    guard let property, let reply else { return -EINVAL }
    return connection(userdata).appendProperty(String(cString: property), to: reply)
}

private let activeProfileSetter: sd_bus_property_set_t = { _, _, _, _, value, userdata, error in
    guard let value else { return -EINVAL }
    return connection(userdata).setActiveProfile(value, error: error)
}

private let holdProfileHandler: sd_bus_message_handler_t = { message, userdata, error in
    guard let message else { return -EINVAL }
    return connection(userdata).holdProfile(message, error: error)
}

private let releaseProfileHandler: sd_bus_message_handler_t = { message, userdata, error in
    guard let message else { return -EINVAL }
    return connection(userdata).releaseProfile(message, error: error)
}

private let nameOwnerChangedHandler: sd_bus_message_handler_t = { message, userdata, _ in
    guard let message else { return 0 }
    connection(userdata).nameOwnerChanged(message)
    return 0
}

private let prepareForSleepHandler: sd_bus_message_handler_t = { message, userdata, _ in
    guard let message else { return 0 }
    var sleeping: Int32 = 0
    guard sd_bus_message_read_basic(message, CChar(UInt8(ascii: "b")), &sleeping) >= 0 else { return 0 }
    if sleeping == 0 { connection(userdata).server.backend.resumed() }
    return 0
}

/// A handler's return code carried as an error (sd-bus has set the D-Bus error).
struct BusReturn: Error {
    var code: Int32
    init(_ code: Int32) { self.code = code }
}

extension PowerProfilesBus.BusConnection {
    static let accessDenied = "org.freedesktop.DBus.Error.AccessDenied"
    static let invalidArgs = "org.freedesktop.DBus.Error.InvalidArgs"

    func appendProperty(_ property: String, to reply: OpaquePointer) -> Int32 {
        let backend = server.backend
        switch property {
        case "ActiveProfile": return appendString(backend.active.name, to: reply)
        case "PerformanceInhibited", "PerformanceDegraded": return appendString("", to: reply)
        case "Version": return appendString(server.configuration.version, to: reply)
        case "Actions":
            var r = sd_bus_message_open_container(reply, CChar(UInt8(ascii: "a")), "s")
            if r >= 0 { r = sd_bus_message_close_container(reply) }
            return r
        case "Profiles":
            return appendDictionaries(PowerProfile.allCases.map {
                [("Profile", $0.name), ("Driver", "gearbox"), ("CpuDriver", "gearbox"), ("PlatformDriver", "gearbox")]
            }, to: reply)
        case "ActiveProfileHolds":
            return appendDictionaries(backend.holds.map {
                [("ApplicationId", $0.applicationID), ("Profile", $0.profile.name), ("Reason", $0.reason)]
            }, to: reply)
        default: return -ENOENT
        }
    }

    private func appendString(_ s: String, to m: OpaquePointer) -> Int32 {
        s.withCString { sd_bus_message_append_basic(m, CChar(UInt8(ascii: "s")), $0) }
    }

    private func appendDictionaries(_ dictionaries: [[(String, String)]], to m: OpaquePointer) -> Int32 {
        var r = sd_bus_message_open_container(m, CChar(UInt8(ascii: "a")), "a{sv}")
        for entries in dictionaries where r >= 0 {
            r = sd_bus_message_open_container(m, CChar(UInt8(ascii: "a")), "{sv}")
            for (key, value) in entries where r >= 0 { r = gearbox_bus_append_string_entry(m, key, value) }
            if r >= 0 { r = sd_bus_message_close_container(m) }
        }
        if r >= 0 { r = sd_bus_message_close_container(m) }
        return r
    }

    /// Reads a string argument no longer than `maximumStringBytes`; nil (with the error set) otherwise.
    private func readString(_ m: OpaquePointer, field: String, error: UnsafeMutablePointer<sd_bus_error>?) -> Result<String, BusReturn> {
        var pointer: UnsafePointer<CChar>?
        let r = sd_bus_message_read_basic(m, CChar(UInt8(ascii: "s")), &pointer)
        guard r > 0, let pointer else { return .failure(BusReturn(sd_bus_error_set(error, Self.invalidArgs, "\(field): a string is expected"))) }
        guard strnlen(pointer, PowerProfilesBus.maximumStringBytes + 1) <= PowerProfilesBus.maximumStringBytes else {
            return .failure(BusReturn(sd_bus_error_set(error, Self.invalidArgs, "\(field): longer than \(PowerProfilesBus.maximumStringBytes) bytes")))
        }
        return .success(String(cString: pointer))
    }

    private func readProfile(_ m: OpaquePointer, error: UnsafeMutablePointer<sd_bus_error>?) -> Result<PowerProfile, BusReturn> {
        switch readString(m, field: "profile", error: error) {
        case .failure(let r): return .failure(r)
        case .success(let name):
            guard let profile = PowerProfile(name: name) else {
                let known = PowerProfile.allCases.map(\.name).joined(separator: ", ")
                return .failure(BusReturn(sd_bus_error_set(error, Self.invalidArgs, "unknown profile \"\(name)\": one of \(known)")))
            }
            return .success(profile)
        }
    }

    func setActiveProfile(_ value: OpaquePointer, error: UnsafeMutablePointer<sd_bus_error>?) -> Int32 {
        if let refused = authorize(value, action: PowerProfilesBus.switchAction, doing: "switching power profiles", error: error) {
            return refused
        }
        switch readProfile(value, error: error) {
        case .failure(let r): return r.code
        case .success(let profile):
            server.backend.choose(profile, by: "D-Bus client \(sender(of: value))")
            announceChanges()
            return 1
        }
    }

    func holdProfile(_ m: OpaquePointer, error: UnsafeMutablePointer<sd_bus_error>?) -> Int32 {
        if let refused = authorize(m, action: PowerProfilesBus.holdAction, doing: "holding a power profile", error: error) {
            return refused
        }
        let profile: PowerProfile
        switch readProfile(m, error: error) {
        case .failure(let r): return r.code
        case .success(let p): profile = p
        }
        let reason: String, application: String
        switch readString(m, field: "reason", error: error) {
        case .failure(let r): return r.code
        case .success(let s): reason = s
        }
        switch readString(m, field: "application_id", error: error) {
        case .failure(let r): return r.code
        case .success(let s): application = s
        }
        do throws(ProfileSelection.HoldRefusal) {
            let hold = try server.backend.hold(profile, reason: reason, applicationID: application, holder: sender(of: m))
            let r = gearbox_bus_reply_u32(m, hold.cookie)
            announceChanges()
            return r
        } catch let refusal {
            let message = switch refusal {
            case .notHoldable(let p): "only performance and power-saver can be held, not \(p.name)"
            case .tooManyForHolder(let n): "this client already holds \(n) profiles, the most one client may"
            case .tooMany(let n): "\(n) profile holds are active, the most the agent keeps"
            }
            return sd_bus_error_set(error, Self.invalidArgs, message)
        }
    }

    func releaseProfile(_ m: OpaquePointer, error: UnsafeMutablePointer<sd_bus_error>?) -> Int32 {
        var cookie: UInt32 = 0
        guard sd_bus_message_read_basic(m, CChar(UInt8(ascii: "u")), &cookie) > 0 else {
            return sd_bus_error_set(error, Self.invalidArgs, "cookie: an unsigned integer is expected")
        }
        guard server.backend.release(cookie: cookie, holder: sender(of: m)) != nil else {
            return sd_bus_error_set(error, Self.invalidArgs, "no profile hold with cookie \(cookie) held by this client")
        }
        let r = gearbox_bus_reply_empty(m)
        emitReleased(cookie)
        announceChanges()
        return r
    }

    func nameOwnerChanged(_ m: OpaquePointer) {
        var name: UnsafePointer<CChar>?
        var old: UnsafePointer<CChar>?
        var new: UnsafePointer<CChar>?
        guard gearbox_bus_read_owner_change(m, &name, &old, &new) >= 0, let name, let new, new.pointee == 0 else { return }
        let gone = String(cString: name)
        guard gone.hasPrefix(":") else { return }
        for hold in server.backend.releaseAll(holder: gone) { emitReleased(hold.cookie) }
        announceChanges()
    }

    private func sender(of m: OpaquePointer) -> String {
        sd_bus_message_get_sender(m).map { String(cString: $0) } ?? "unknown"
    }

    /// nil when the sender may do `action`; else the D-Bus error's return code. Root always
    /// may; where polkit runs it decides, else members of the configured group may.
    private func authorize(_ m: OpaquePointer, action: String, doing what: String,
                           error: UnsafeMutablePointer<sd_bus_error>?) -> Int32? {
        var uid: uid_t = .max
        var gids = [gid_t](repeating: 0, count: 64)
        let count = gearbox_bus_sender_ids(m, &uid, &gids, Int32(gids.count))
        guard count >= 0 else {
            return sd_bus_error_set(error, Self.accessDenied, "\(what): cannot tell who is asking (\(String(cString: strerror(-count))))")
        }
        if uid == 0 { return nil }
        if gearbox_bus_name_has_owner(bus, "org.freedesktop.PolicyKit1") > 0 {
            let allowed = gearbox_bus_polkit_check(bus, sender(of: m), action)
            if allowed > 0 { return nil }
            let why = allowed < 0 ? "polkit failed: \(String(cString: strerror(-allowed)))" : "polkit refused \(action)"
            return sd_bus_error_set(error, Self.accessDenied, "\(what) is not allowed for uid \(uid): \(why)")
        }
        // A member as the bus reports the caller's groups, or as the group database has it
        // (the bus may report supplementary groups only).
        if let group = server.configuration.groupName, let gid = try? SocketAccessPolicy.groupID(named: group),
           gids.prefix(Int(count)).contains(gid) || SocketAccessPolicy.isRootOrMember(uid: uid, gid: .max, of: gid) {
            return nil
        }
        let who = server.configuration.groupName.map { "root or members of group \($0)" } ?? "root"
        return sd_bus_error_set(error, Self.accessDenied, "\(what) is allowed to \(who) (polkit is not running); uid \(uid) is neither")
    }
}
