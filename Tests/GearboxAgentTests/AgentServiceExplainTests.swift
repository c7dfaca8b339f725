import Foundation
import GearboxAgent
import GearboxConfig
import GearboxControl
import GearboxCore
import Logging
import Synchronization
import Testing

/// The agent keeps ticking while `explain` re-plans. Explaining laptop-hybrid high re-plans
/// seven times (seconds); computed on the loop, it stopped every tick meanwhile.
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
        let platform = try PlatformFile.load(path: Self.example("laptop-hybrid.toml"))
        let workload = try WorkloadFile.load(path: Self.example("laptop-hybrid-high.toml"), platform: platform)
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        var configuration = AgentConfiguration()
        configuration.tick = .milliseconds(100)
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
        #expect(await eventually(timeout: 60) { FileManager.default.fileExists(atPath: socket) })
        let (answer, ticks, seconds) = try await blocking {
            let client = try LineClient(path: socket)
            let before = host.samples.withLock { $0 }
            let start = Date()
            let answer = try client.ask(#"{"command":"explain"}"#)
            return (answer, host.samples.withLock { $0 } - before, Date().timeIntervalSince(start))
        }
        print("explain took \(seconds) s; the agent ticked \(ticks) times meanwhile")
        #expect(answer["queues"]?.arrayItems?.count == workload.queues.count, "\(answer)")
        // Only meaningful when explaining takes a while (it re-plans a 12-CPU hybrid host).
        try #require(seconds >= 1, "explain was too quick (\(seconds) s) to tell")
        // A tick every 100 ms: at least a third of them, allowing for two busy cores.
        #expect(Double(ticks) >= seconds / 0.1 / 3, "\(ticks) ticks in \(seconds) s of explain")
    }
}
