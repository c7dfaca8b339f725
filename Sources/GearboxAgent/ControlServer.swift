#if canImport(Glibc)
import Glibc
#endif
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GearboxControl
import GearboxLinux
import Logging
import ServiceLifecycle
import Synchronization

/// The control socket's server (docs/formats.md, "Control socket protocol"): newline-delimited JSON
/// requests answered one line each. Queries are open to every local user; changes (override,
/// resume, reload) need root or the control group, checked with SO_PEERCRED.
///
/// It runs on its own threads, one to accept and one per connection, so a slow or stuck
/// client never holds up the control loop; a request reaches the agent only through
/// `ControlHandling`, with a deadline. A request that is refused or malformed gets an error
/// object, never a dropped connection without a word.
///
/// Threat model: any local user can connect (the socket is 0666 by default), so everything a
/// peer sends is untrusted. Who may change policy is decided by the kernel's SO_PEERCRED,
/// which the peer cannot forge; the group is resolved by name once, at start. What one peer
/// can cost the agent is bounded before any work is done for it:
/// - a line is at most `maxLineBytes`, and must arrive whole within `lineDeadline` of its
///   first byte (one deadline per line, not per read), while an idle connection is closed
///   after `idleTimeout`;
/// - a request is parsed (linear in the line, nesting bounded by the parser) only as far as
///   its command, and the permission check comes before its fields are decoded;
/// - connections are bounded in total (`maxConnections`) and per uid (`maxConnectionsPerUser`,
///   root exempt), so one user cannot take every slot; root and the control group get
///   `reservedForChanges` more;
/// - each uid but root gets `requestsPerSecondPerUser` answers a second over all its
///   connections (after a burst of as many), so that neither parsing nor the agent's loop,
///   which answers between ticks, can be kept busy by one user;
/// - an answer is written within `sendDeadline` in total and never raises SIGPIPE.
/// So a local user can neither crash the root daemon nor stall its loop, and at worst one
/// user holds `maxConnectionsPerUser` connections, each until its idle timeout.
public final class ControlServer: Service, Sendable {
    public struct Configuration: Sendable {
        /// Longest request line accepted; a longer one is answered `malformed` and the connection closed.
        public var maxLineBytes = 65_536
        /// A connection with no request under way for this long is closed.
        public var idleTimeout: Duration = .seconds(60)
        /// A request line must be complete this long after its first byte arrived; one that is
        /// not is answered `malformed` and the connection closed.
        public var lineDeadline: Duration = .seconds(10)
        /// How long writing one answer may take in all; a peer that does not read is dropped.
        public var sendDeadline: Duration = .seconds(5)
        /// How long a request may wait for the agent before it is answered `failed`.
        public var handlerTimeout: Duration = .seconds(10)
        /// Connections served at once; more are answered `failed` and closed.
        public var maxConnections = 32
        /// Connections one uid (other than root) may hold at once, reserved slots included; more
        /// are answered `failed` and closed.
        public var maxConnectionsPerUser = 8
        /// Further connections kept for peers who may make changes, so that unprivileged users
        /// holding every ordinary slot cannot lock root out.
        public var reservedForChanges = 4
        /// Requests one uid (other than root) may have answered per second, over all its
        /// connections, after a burst of as many; a faster peer's next request waits.
        public var requestsPerSecondPerUser = 20
        public init() {}
    }

    let listener: SocketListener
    let policy: SocketAccessPolicy
    let groupName: String?
    let handler: any ControlHandling
    let logger: Logger
    let configuration: Configuration
    private let wake: (read: Int32, write: Int32)
    private let connections = Mutex(OpenConnections())
    private let requestRates: Mutex<RequestRates>
    private let stopped = Atomic<Bool>(false)
    /// Whether the accept thread was started, whether it ended, and who waits for its end.
    private struct Serving: Sendable {
        var started = false
        var finished = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let serving = Mutex(Serving())

    /// A server on `listener` (see `openListener`). `groupName` is the group that may make
    /// changes besides root; a group that does not exist leaves changes to root, with a warning.
    public init(
        listener: SocketListener, groupName: String?, handler: any ControlHandling, logger: Logger,
        configuration: Configuration = .init()
    ) {
        self.listener = listener
        self.handler = handler
        self.logger = logger
        self.configuration = configuration
        requestRates = Mutex(RequestRates(perSecond: Double(max(1, configuration.requestsPerSecondPerUser))))
        do {
            policy = try SocketAccessPolicy(groupName: groupName)
            self.groupName = groupName
        } catch {
            logger.warning("control group \(groupName ?? "-") not found, only root may make changes: \(error)", metadata: ["event": "fault"])
            policy = SocketAccessPolicy(group: nil)
            self.groupName = nil
        }
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        } else {
            fds = [-1, -1]
        }
        wake = (fds[0], fds[1])
    }

    deinit {
        _ = Glibc.close(wake.read)
        _ = Glibc.close(wake.write)
    }

    /// Starts accepting now, on the server's own thread. `run()` does this itself; calling it
    /// first means that a client who connects next is answered even if the task running `run()`
    /// waits long for a thread of the shared concurrency pool (a busy 2-core machine). Calling
    /// it again does nothing. `run()` must still be called: it waits, and closes the socket.
    public func start() {
        let first = serving.withLock { state in
            defer { state.started = true }
            return !state.started
        }
        guard first else { return }
        DetachedThread.start { [self] in
            acceptLoop()
            let waiting = serving.withLock { state in
                state.finished = true
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in waiting { continuation.resume() }
        }
    }

    /// Serves (starting first, if `start()` was not called) until graceful shutdown or
    /// cancellation, then closes the listening socket (removing its file when the agent bound
    /// it) and every open connection.
    public func run() async {
        await withTaskCancellationOrGracefulShutdownHandler {
            start()
            await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
                let over = serving.withLock { state in
                    if !state.finished { state.waiting.append(finished) }
                    return state.finished
                }
                if over { finished.resume() }
            }
        } onCancelOrGracefulShutdown: { [self] in
            stop()
        }
        listener.close()
        logger.debug("control socket closed", metadata: ["event": "control_stop"])
    }

    /// Asks the server to stop: wakes the accept loop and shuts every connection down.
    public func stop() {
        guard !stopped.exchange(true, ordering: .sequentiallyConsistent) else { return }
        var byte: UInt8 = 1
        _ = Glibc.write(wake.write, &byte, 1)
        connections.withLock { open in
            for descriptor in open.owners.keys { shutdown(descriptor, Int32(SHUT_RDWR)) }
        }
    }

    private func acceptLoop() {
        logger.info("control socket ready at \(listener.path ?? "an inherited descriptor")", metadata: ["event": "control_start"])
        while !stopped.load(ordering: .sequentiallyConsistent) {
            var entries = [pollfd(fd: listener.fileDescriptor, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&entries, 2, wake.read < 0 ? 500 : -1)
            if ready < 0 && errno == EINTR { continue }
            if entries[1].revents != 0 || stopped.load(ordering: .sequentiallyConsistent) { return }
            guard ready > 0, entries[0].revents & Int16(POLLIN) != 0 else {
                // POLLERR or POLLNVAL on the listener: nothing more will come; do not spin.
                if ready > 0 { return }
                continue
            }
            do {
                let connection = try listener.accept()
                admit(connection)
            } catch {
                // EMFILE and the like: say so once per failure, back off briefly, keep serving.
                logger.warning("control socket: \(error)", metadata: ["event": "fault"])
                usleep(100_000)
            }
        }
    }

    private func admit(_ connection: Int32) {
        let peer = try? SocketPeerCredentials.of(connection: connection)
        let uid = peer?.uid ?? OpenConnections.unknownPeer
        // Whether the peer may make changes matters only once the ordinary slots are taken;
        // finding out may read the user and group databases, so only root is known at once.
        let ordinaryFull = connections.withLock { $0.count >= configuration.maxConnections }
        let privileged = peer.map { $0.uid == 0 || (ordinaryFull && policy.permitsChanges(by: $0)) } ?? false
        let refusal: ControlFailure? = connections.withLock { open in
            if stopped.load(ordering: .sequentiallyConsistent) {
                return ControlFailure(.failed, "the agent is stopping")
            }
            if uid != 0 && open.count(of: uid) >= configuration.maxConnectionsPerUser {
                return ControlFailure(.failed, "uid \(uid) already has \(configuration.maxConnectionsPerUser) connections open; close one and try again")
            }
            if open.count >= configuration.maxConnections + (privileged ? configuration.reservedForChanges : 0) {
                return ControlFailure(.failed, "the agent is serving \(configuration.maxConnections) connections; try again")
            }
            open.insert(connection, owner: uid)
            return nil
        }
        if let refusal {
            // One line, without waiting for a peer that does not read, then close.
            _ = SocketLineReader.send(ControlResponse.failure(refusal).line, to: connection, deadline: .zero)
            _ = Glibc.close(connection)
            return
        }
        let started = DetachedThread.start { [self] in
            serve(connection, peer: peer)
            connections.withLock { $0.remove(connection) }
            _ = Glibc.close(connection)
        }
        if !started {
            connections.withLock { $0.remove(connection) }
            _ = Glibc.close(connection)
        }
    }

    private func serve(_ connection: Int32, peer: SocketPeerCredentials?) {
        var reader = SocketLineReader(descriptor: connection, maxBytes: configuration.maxLineBytes)
        var mayChange = PeerPermission(peer: peer, policy: policy)
        let uid = peer?.uid ?? OpenConnections.unknownPeer
        while true {
            let response: ControlResponse
            switch reader.next(idleTimeout: configuration.idleTimeout, lineDeadline: configuration.lineDeadline) {
            case .line(let bytes):
                if bytes.allSatisfy(Self.isBlank) { continue }
                if uid != 0 { waitForTurn(of: uid) }
                if let text = String(validating: bytes, as: UTF8.self) {
                    response = answer(text, peer: peer, mayChange: &mayChange)
                } else {
                    response = .failure(ControlFailure(.malformed, "request is not valid UTF-8"))
                }
            case .tooLong:
                let failure = ControlFailure(.malformed, "request line longer than \(configuration.maxLineBytes) bytes; closing the connection")
                _ = SocketLineReader.send(ControlResponse.failure(failure).line, to: connection, deadline: configuration.sendDeadline)
                return
            case .lineDeadlinePassed:
                let failure = ControlFailure(.malformed, "request line not complete within \(configuration.lineDeadline) of its first byte; closing the connection")
                _ = SocketLineReader.send(ControlResponse.failure(failure).line, to: connection, deadline: configuration.sendDeadline)
                return
            case .end, .idle, .failed:
                return
            }
            guard SocketLineReader.send(response.line, to: connection, deadline: configuration.sendDeadline) else { return }
        }
    }

    /// Sleeps until `uid` may have its next request answered (`requestsPerSecondPerUser`).
    private func waitForTurn(of uid: uid_t) {
        let wait = requestRates.withLock { $0.reserve(for: uid, at: .now) }
        guard wait > .zero else { return }
        let (seconds, attoseconds) = wait.components
        var remaining = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var interval = remaining
        while nanosleep(&interval, &remaining) != 0 && errno == EINTR { interval = remaining }
    }

    /// Space, tab, carriage return: a line of only these is skipped without an answer.
    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D
    }

    /// The answer to one request line from `peer`. The line is read only as far as its command
    /// before the permission check, so a refused request costs no more than its parse.
    func answer(_ line: String, peer: SocketPeerCredentials?, mayChange: inout PeerPermission) -> ControlResponse {
        let request: ControlRequest
        do throws(ControlFailure) {
            let envelope = try ControlRequest.Envelope(line: line)
            if envelope.changesPolicy {
                guard let peer, mayChange.permitted else {
                    let who = peer.map { "uid \($0.uid)" } ?? "an unknown peer"
                    if let suppressed = refusalLog.admit(uid: peer?.uid) {
                        let more = suppressed > 0 ? " (and \(suppressed) more from it in the last minute)" : ""
                        logger.notice("control: refused \(envelope.command) from \(who)\(more)", metadata: ["event": "control_refused"])
                    }
                    return .failure(ControlFailure(.permissionDenied, permissionMessage))
                }
                logger.notice("control: \(envelope.command) from uid \(peer.uid) (pid \(peer.pid))", metadata: ["event": "control_request"])
            }
            request = try envelope.open()
        } catch {
            return .failure(error)
        }
        return perform(request)
    }

    /// One refusal line per user a minute: a local user refused 20 times a second must not
    /// fill the journal (and push out the lines that matter) through the root agent.
    let refusalLog = RefusalLogLimiter(interval: .seconds(60))

    var permissionMessage: String {
        "permission denied: changes need root" + (groupName.map { " or group \($0)" } ?? "")
    }

    /// Calls the agent for `request` and waits for it, at most `handlerTimeout`.
    private func perform(_ request: ControlRequest) -> ControlResponse {
        let result = Mutex<ControlResponse?>(nil)
        let done = DispatchSemaphore(value: 0)
        let handler = self.handler
        Task {
            let response = await Self.dispatch(request, to: handler)
            result.withLock { $0 = response }
            done.signal()
        }
        let (seconds, attoseconds) = configuration.handlerTimeout.components
        let timeout = DispatchTime.now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        guard done.wait(timeout: timeout) == .success, let response = result.withLock({ $0 }) else {
            logger.warning("control: the agent did not answer \(request.command) in time", metadata: ["event": "fault"])
            return .failure(ControlFailure(.failed, "the agent did not answer within \(configuration.handlerTimeout)"))
        }
        return response
    }

    static func dispatch(_ request: ControlRequest, to handler: any ControlHandling) async -> ControlResponse {
        do throws(ControlFailure) {
            switch request {
            case .status: return .success(try await handler.statusDocument())
            case .plan: return .success(try await handler.planDocument())
            case .explain: return .success(try await handler.explainDocument())
            case .resume: return .success(try await handler.resume())
            case .reload: return .success(try await handler.reload())
            case .setProfile(let profile): return .success(try await handler.setProfile(profile))
            case .override(let o):
                return .success(try await handler.addOverride(
                    scope: Override.Scope(o.scope), action: Override.Action(o.action), duration: o.duration))
            }
        } catch {
            return .failure(error)
        }
    }
}

/// Whether one connection's peer may make changes, looked up once, when first asked: the
/// answer may need the user and group databases, and a connection's peer does not change.
struct PeerPermission {
    let peer: SocketPeerCredentials?
    let policy: SocketAccessPolicy
    private var known: Bool?

    init(peer: SocketPeerCredentials?, policy: SocketAccessPolicy) {
        self.peer = peer
        self.policy = policy
    }

    var permitted: Bool {
        mutating get {
            if let known { return known }
            let answer = peer.map(policy.permitsChanges) ?? false
            known = answer
            return answer
        }
    }
}

/// The connections being served, and how many each uid holds.
struct OpenConnections {
    /// Stands for the uid of a peer whose credentials could not be read (all such count as one).
    static let unknownPeer = uid_t.max
    private(set) var owners: [Int32: uid_t] = [:]
    private var perUser: [uid_t: Int] = [:]

    var count: Int { owners.count }

    func count(of uid: uid_t) -> Int { perUser[uid, default: 0] }

    mutating func insert(_ descriptor: Int32, owner: uid_t) {
        owners[descriptor] = owner
        perUser[owner, default: 0] += 1
    }

    mutating func remove(_ descriptor: Int32) {
        guard let owner = owners.removeValue(forKey: descriptor) else { return }
        let left = perUser[owner, default: 1] - 1
        perUser[owner] = left > 0 ? left : nil
    }
}

/// A token bucket per uid: `perSecond` requests a second, bursts of as many. A request that
/// finds the bucket empty reserves the next token and waits for it, so a user's connections
/// take turns instead of racing.
struct RequestRates {
    let perSecond: Double
    private var buckets: [uid_t: (tokens: Double, at: ContinuousClock.Instant)] = [:]

    init(perSecond: Double) {
        self.perSecond = perSecond
    }

    /// Takes a token for `uid` and returns how long to wait before using it (zero when one was there).
    mutating func reserve(for uid: uid_t, at now: ContinuousClock.Instant) -> Duration {
        if buckets.count > 1024 { forgetFull(at: now) }
        var bucket = buckets[uid] ?? (tokens: perSecond, at: now)
        bucket.tokens = min(perSecond, bucket.tokens + Self.seconds(now - bucket.at) * perSecond) - 1
        bucket.at = now
        buckets[uid] = bucket
        return bucket.tokens >= 0 ? .zero : .nanoseconds(Int64(-bucket.tokens / perSecond * 1e9))
    }

    /// Drops buckets that have refilled: a full bucket is what a new one starts as.
    private mutating func forgetFull(at now: ContinuousClock.Instant) {
        buckets = buckets.filter { $0.value.tokens + Self.seconds(now - $0.value.at) * perSecond < perSecond }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Admits one log line per user per interval and counts the ones it held back.
final class RefusalLogLimiter: Sendable {
    private struct Entry {
        var last: ContinuousClock.Instant
        var suppressed: Int
    }
    private let entries = Mutex<[UInt32: Entry]>([:])
    let interval: Duration

    init(interval: Duration) { self.interval = interval }

    /// nil: do not log; otherwise how many refusals of this user went unlogged since its last
    /// line. An unknown peer counts as one user. The table is cleared when it grows past 4,096
    /// users, so it stays bounded.
    func admit(uid: UInt32?) -> Int? {
        let key = uid ?? UInt32.max
        let now = ContinuousClock.now
        return entries.withLock { table in
            if var entry = table[key], entry.last.duration(to: now) < interval {
                entry.suppressed += 1
                table[key] = entry
                return nil
            }
            if table.count >= 4096 { table.removeAll() }
            let suppressed = table[key]?.suppressed ?? 0
            table[key] = Entry(last: now, suppressed: 0)
            return suppressed
        }
    }
}
