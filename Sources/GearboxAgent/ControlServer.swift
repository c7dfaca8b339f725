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

/// The control socket's server (PRODUCT.md, "Control socket"): newline-delimited JSON
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
/// which the peer cannot forge; the group is resolved by name once, at start. Lines are
/// bounded (`maxLineBytes`), nesting is bounded by the parser, connections are bounded
/// (`maxConnections`) and time out when idle, writes never raise SIGPIPE and time out when a
/// peer stops reading, so a local user can neither crash the root daemon nor stall its loop;
/// at worst one can hold `maxConnections` connections until their idle timeout, and root and
/// the group still get `reservedForChanges` more.
public final class ControlServer: Service, Sendable {
    public struct Configuration: Sendable {
        /// Longest request line accepted; a longer one is answered `malformed` and the connection closed.
        public var maxLineBytes = 65_536
        /// A connection idle this long is closed.
        public var idleTimeout: Duration = .seconds(60)
        /// How long a request may wait for the agent before it is answered `failed`.
        public var handlerTimeout: Duration = .seconds(10)
        /// Connections served at once; more are answered `failed` and closed.
        public var maxConnections = 32
        /// Further connections kept for peers who may make changes, so that unprivileged users
        /// holding every ordinary slot cannot lock root out.
        public var reservedForChanges = 4
        public init() {}
    }

    let listener: SocketListener
    let policy: SocketAccessPolicy
    let groupName: String?
    let handler: any ControlHandling
    let logger: Logger
    let configuration: Configuration
    private let wake: (read: Int32, write: Int32)
    private let connections = Mutex<Set<Int32>>([])
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
            for descriptor in open { shutdown(descriptor, Int32(SHUT_RDWR)) }
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
        let privileged = (try? SocketPeerCredentials.of(connection: connection)).map(policy.permitsChanges) ?? false
        let limit = configuration.maxConnections + (privileged ? configuration.reservedForChanges : 0)
        let admitted = connections.withLock { open in
            guard open.count < limit, !stopped.load(ordering: .sequentiallyConsistent) else { return false }
            open.insert(connection)
            return true
        }
        guard admitted else {
            let busy = ControlFailure(.failed, "the agent is serving \(configuration.maxConnections) connections; try again")
            _ = SocketLineReader.send(ControlResponse.failure(busy).line, to: connection, flags: Int32(MSG_DONTWAIT))
            _ = Glibc.close(connection)
            return
        }
        let started = DetachedThread.start { [self] in
            serve(connection)
            connections.withLock { _ = $0.remove(connection) }
            _ = Glibc.close(connection)
        }
        if !started {
            connections.withLock { _ = $0.remove(connection) }
            _ = Glibc.close(connection)
        }
    }

    private func serve(_ connection: Int32) {
        SocketLineReader.setTimeouts(connection, receive: configuration.idleTimeout, send: .seconds(5))
        let peer = try? SocketPeerCredentials.of(connection: connection)
        var reader = SocketLineReader(descriptor: connection, maxBytes: configuration.maxLineBytes)
        while true {
            switch reader.next() {
            case .line(let bytes):
                let response: ControlResponse
                if let text = String(validating: bytes, as: UTF8.self) {
                    if text.allSatisfy(\.isWhitespace) { continue }
                    response = answer(text, peer: peer)
                } else {
                    response = .failure(ControlFailure(.malformed, "request is not valid UTF-8"))
                }
                guard SocketLineReader.send(response.line, to: connection) else { return }
            case .tooLong:
                let failure = ControlFailure(.malformed, "request line longer than \(configuration.maxLineBytes) bytes; closing the connection")
                _ = SocketLineReader.send(ControlResponse.failure(failure).line, to: connection)
                return
            case .end, .timedOut, .failed:
                return
            }
        }
    }

    /// The answer to one request line from `peer`.
    func answer(_ line: String, peer: SocketPeerCredentials?) -> ControlResponse {
        let request: ControlRequest
        do {
            request = try ControlRequest.decode(line: line)
        } catch {
            return .failure(error)
        }
        if request.changesPolicy {
            guard let peer, policy.permitsChanges(by: peer) else {
                let who = peer.map { "uid \($0.uid)" } ?? "an unknown peer"
                logger.notice("control: refused \(request.command) from \(who)", metadata: ["event": "control_refused"])
                return .failure(ControlFailure(.permissionDenied, permissionMessage))
            }
            logger.notice("control: \(request.command) from uid \(peer.uid) (pid \(peer.pid))", metadata: ["event": "control_request"])
        }
        return perform(request)
    }

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
            case .override(let o):
                return .success(try await handler.addOverride(
                    scope: Override.Scope(o.scope), action: Override.Action(o.action), duration: o.duration))
            }
        } catch {
            return .failure(error)
        }
    }
}
