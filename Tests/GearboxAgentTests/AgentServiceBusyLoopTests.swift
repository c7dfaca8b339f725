import Foundation
import GearboxTestSupport
import Glibc
import GearboxAgent
import GearboxConfig
import GearboxControl
import GearboxCore
import Synchronization
import Testing

/// A long re-plan (a reload of a huge platform or of hundreds of queues) keeps the control
/// loop busy for seconds. Meanwhile `status` is still answered, from the state the loop last
/// published, and systemd's watchdog is still fed, from a thread of its own. The reload here
/// is made slow on purpose: its config reader waits until the test has its status answer
/// (at most 60 s), so the loop is busy for as long as the test needs on any machine.
@Suite struct AgentServiceBusyLoopTests {
    /// Counts watchdog notifications; 100 ms interval (fed every 50 ms).
    final class CountingNotifier: ServiceNotifying {
        let watchdogs = Mutex(0)
        func ready() {}
        func status(_ line: String) {}
        func watchdog() { watchdogs.withLock { $0 += 1 } }
        func stopping() {}
        var watchdogInterval: Duration? { .milliseconds(100) }
    }

    @Test(.enabled(if: geteuid() == 0, "reload needs root on the control socket (or the control group)"))
    func statusAndWatchdogWhileAReloadKeepsTheLoopBusy() async throws {
        let platform = try PlatformFile.load(path: AgentServiceExplainTests.example("phone-rk3399.toml"))
        let workload = try WorkloadFile.load(path: AgentServiceExplainTests.example("phone-rk3399-medium.toml"), platform: platform)
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        var configuration = AgentConfiguration()
        configuration.tick = .milliseconds(50)
        configuration.controlSocket = scratch.file("control.sock")
        configuration.controlGroup = nil
        configuration.queues = workload.queues.map { AgentQueue(queue: $0) }
        let settings = configuration
        let reloading = Atomic<Bool>(false)
        let release = Atomic<Bool>(false)
        let notifier = CountingNotifier()
        // Status is answered from the published state, but on the shared concurrency pool:
        // in a full parallel run other suites may hold it for minutes, so the answer may wait
        // that long (the agent's own 10 s deadline is for a pool of its own).
        var options = AgentService.Options()
        options.controlServer.handlerTimeout = .seconds(LineClient.answerDeadline)
        let service = AgentService(
            platform: platform, configuration: configuration, host: AgentServiceExplainTests.CountingHost(cpus: platform.cpus),
            publisher: AgentServiceExplainTests.Unpublished(), notifier: notifier, options: options, logger: quietLogger,
            reload: {
                reloading.store(true, ordering: .sequentiallyConsistent)
                _ = waitFor(seconds: 60) { release.load(ordering: .sequentiallyConsistent) }
                return settings
            })
        let running = Task { try await service.run() }
        defer { running.cancel() }
        let socket = configuration.controlSocket
        let serving = await blocking { waitFor(seconds: 300) { acceptsConnections(socket) } }
        try #require(serving, "the control socket never accepted a connection")

        let outcome = try await blocking { () throws -> (status: JSONValue, reloadStarted: Bool, reloadPending: Bool, watchdogs: Int) in
            let reloader = try LineClient(path: socket)
            try reloader.send(#"{"command":"reload"}"# + "\n")
            let started = waitFor(seconds: 60) { reloading.load(ordering: .sequentiallyConsistent) }
            let before = notifier.watchdogs.withLock { $0 }
            let asker = try LineClient(path: socket)
            try asker.send(#"{"command":"status"}"# + "\n")
            let line = try asker.readLine() ?? ""
            // The reload had not finished when status was answered: no answer yet, or only the
            // control server's deadline error.
            var reloadAnswer: String?
            if AgentServiceExplainTests.hasInput(reloader.descriptor, milliseconds: 0) { reloadAnswer = try reloader.readLine() }
            let pending = reloadAnswer.map { !$0.contains("\"reloaded\"") } ?? true
            // 1.5 s later, still within the reload, the watchdog was fed meanwhile (every 50 ms
            // while the loop is alive).
            usleep(1_500_000)
            let fed = notifier.watchdogs.withLock { $0 } - before
            release.store(true, ordering: .sequentiallyConsistent)
            if reloadAnswer == nil { _ = try reloader.readLine() }
            return (try JSONParser.parse(line), started, pending, fed)
        }
        #expect(outcome.status["mode"]?.stringValue == "service", "\(outcome.status)")
        #expect(outcome.status["plan"] != nil && outcome.status["plan"]?.isNull == false)
        #expect(outcome.reloadStarted, "the reload never began")
        #expect(outcome.reloadPending, "status was answered only after the reload finished")
        #expect(outcome.watchdogs >= 5, "the watchdog was fed \(outcome.watchdogs) times in 1.5 s of a busy loop")
    }
}
