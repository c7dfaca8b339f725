import Foundation
import GearboxTestSupport
import Glibc
import GearboxAgent
import GearboxConfig
import GearboxControl
import GearboxCore
import Logging
import Synchronization
import Testing

/// The agent keeps ticking while `explain` re-plans; computed on the loop, it stopped every tick
/// meanwhile. The phone example explains in about 50 ms on an idle machine, far inside the
/// server's 10 s answer deadline on a loaded one (laptop-hybrid medium takes 1.6 s idle and
/// passed 10 s on a loaded 2-core machine), and the shortest tick, 10 ms, lets several pass.
@Suite struct AgentServiceExplainTests {
    /// Counts the agent's samples (one per tick); applies nothing.
    final class CountingHost: AgentHost {
        let cpus: [Int]
        let samples = Mutex(0)
        init(cpus: [Int]) { self.cpus = cpus }
        func sampleBusyFractions() async throws -> [Int: Double] {
            samples.withLock { $0 += 1 }
            return Dictionary(uniqueKeysWithValues: cpus.map { ($0, 0.5) })
        }
        func apply(_ plan: Plan) async {}
        func restore() async -> [String] { [] }
        func state() async -> (frequencies: [String: Kilohertz], held: [String]) { ([:], []) }
    }

    struct Unpublished: PlanPublishing {
        func publish(_ plan: Plan) throws {}
    }

    struct Unnotified: ServiceNotifying {
        func ready() {}
        func status(_ line: String) {}
        func watchdog() {}
        func stopping() {}
        var watchdogInterval: Duration? { nil }
    }

    static func example(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../configs/examples/\(name)").standardized.path
    }

    @Test func ticksGoOnWhileExplainReplans() async throws {
        // A host whose plan takes a good fraction of a second: explaining it re-plans a few
        // times, long enough for several 10 ms ticks on any machine (a host that plans in a few
        // milliseconds is explained within a tick or two, and the test would show nothing).
        let platform = try PlatformFile.load(path: Self.example("laptop-hybrid.toml"))
        let workload = try WorkloadFile.load(path: Self.example("laptop-hybrid-medium.toml"), platform: platform)
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        var configuration = AgentConfiguration()
        configuration.tick = .milliseconds(10)
        configuration.controlSocket = scratch.file("control.sock")
        configuration.controlGroup = nil
        configuration.queues = workload.queues.map { AgentQueue(queue: $0) }
        let host = CountingHost(cpus: platform.cpus)
        let settings = configuration
        let service = AgentService(
            platform: platform, configuration: configuration, host: host, publisher: Unpublished(),
            notifier: Unnotified(), options: .init(), logger: quietLogger,
            reload: { settings })
        let running = Task { try await service.run() }
        defer { running.cancel() }

        let socket = configuration.controlSocket
        // The agent plans the host before it serves; on a loaded machine that takes a while.
        let serving = await blocking { waitFor(seconds: 300) { acceptsConnections(socket) } }
        try #require(serving, "the control socket never accepted a connection")
        let (answer, ticks, attempts) = try await blocking { try Self.ticksDuringExplain(socket: socket, host: host) }
        print("the agent ticked \(ticks) times while explain \(attempts) was unanswered")
        #expect(answer["queues"]?.arrayItems?.count == workload.queues.count, "\(answer)")
        #expect(ticks >= Self.ticksWanted, "explain answered within \(ticks) ticks on each of \(attempts) tries")
    }

    static let ticksWanted = 3

    /// Sends `explain` and counts the agent's ticks until its answer starts to arrive. Done until
    /// `ticksWanted` ticks pass while the answer is still outstanding (then the loop was not held
    /// by it), or ten times: a machine that explains within three ticks gets another try.
    static func ticksDuringExplain(socket: String, host: CountingHost) throws -> (answer: JSONValue, ticks: Int, attempts: Int) {
        let client = try LineClient(path: socket)
        var ticks = 0, attempt = 0
        var answer = JSONValue.null
        var lastTry = 0.0
        repeat {
            // An explanation is reused for three times its cost after it is computed (so that
            // requests cannot keep a core busy): give each new try a fresh one, waiting past
            // three times the last try's duration (its cost is at most that; on a machine whose
            // pool other suites hold, a try can take a minute, and a shorter wait would only
            // meet the reused answer).
            if attempt > 0 { usleep(useconds_t(min(3.2 * lastTry + 0.4, 300) * 1_000_000)) }
            let started = Date()
            defer { lastTry = Date().timeIntervalSince(started) }
            attempt += 1
            let before = host.samples.withLock { $0 }
            try client.send(#"{"command":"explain"}"# + "\n")
            ticks = 0
            while ticks < ticksWanted && !hasInput(client.descriptor, milliseconds: 10) {
                ticks = host.samples.withLock { $0 } - before
            }
            guard let line = try client.readLine() else { throw LineClient.Failure(description: "no answer to explain") }
            answer = try JSONParser.parse(line)
            // An error answer (on a machine loaded enough to pass the server's 10 s answer
            // deadline) is said, and the try does not count as an explanation.
            if answer["queues"] == nil { print("explain try \(attempt) answered \(answer.rendered(pretty: false))") }
        } while (ticks < ticksWanted || answer["queues"] == nil) && attempt < 10
        return (answer, ticks, attempt)
    }

    /// Whether `descriptor` has bytes to read within `milliseconds`.
    static func hasInput(_ descriptor: Int32, milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) > 0
    }
}
