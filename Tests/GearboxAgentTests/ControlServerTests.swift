import Foundation
import GearboxTestSupport
import GearboxAgent
import GearboxControl
import GearboxCore
import GearboxLinux
import Glibc
import Testing

/// The agent's side of the socket in these tests: overrides kept in an `OverrideSet`, every
/// call recorded, and a status that can be made slow.
actor RecordingHandler: ControlHandling {
    static let platform = Platform(domains: [
        FrequencyDomain(name: "policy0", cpus: [0, 1], capacity: 1024, idlePower: Watts(0.1), operatingPoints: [
            OperatingPoint(frequency: Kilohertz(1_000_000), busyPower: Watts(1)),
            OperatingPoint(frequency: Kilohertz(2_000_000), busyPower: Watts(3)),
        ]),
    ])
    var calls: [String] = []
    var overrides = OverrideSet()
    let statusDelay: Duration
    /// Answer an override with its id only, as an agent may.
    let terse: Bool

    init(statusDelay: Duration = .zero, terse: Bool = false) {
        self.statusDelay = statusDelay
        self.terse = terse
    }

    func statusDocument() async -> JSONValue {
        calls.append("status")
        if statusDelay > .zero { try? await Task.sleep(for: statusDelay) }
        return StatusDocument.json(AgentStatus(mode: "test", now: 0, platform: Self.platform, plan: nil,
                                               workload: Workload(queues: []), overrides: overrides))
    }
    func planDocument() -> JSONValue { calls.append("plan"); return .object([("plan", .null)]) }
    func explainDocument() -> JSONValue { calls.append("explain"); return .object([("queues", .array([]))]) }
    func addOverride(scope: Override.Scope, action: Override.Action, duration: Double?) throws(ControlFailure) -> JSONValue {
        calls.append("override")
        try OverrideValidation.check(scope: scope, action: action, platform: Self.platform, queueNames: ["web"])
        let added = overrides.add(scope: scope, action: action, expiresAt: duration)
        return .object([("override", terse ? .object([("id", .int(added.id))]) : added.json(now: 0))])
    }
    func resume() -> JSONValue { calls.append("resume"); return .object([("removed", .int(overrides.removeAll()))]) }
    func reload() throws(ControlFailure) -> JSONValue { calls.append("reload"); return .object([]) }
}

extension ControlServer.Configuration {
    /// The defaults, but a handler deadline as long as the client's: in the full parallel run
    /// the handler's task can wait seconds for a pool thread, which is not what these tests test.
    static var patient: Self {
        var configuration = Self()
        configuration.handlerTimeout = .seconds(LineClient.answerDeadline)
        return configuration
    }
}

/// A ControlServer on a fresh socket, accepting before `body` runs (started on its own thread,
/// not whenever the pool gets to the task running it), and stopped by cancelling that task
/// when `body` returns.
func withControlServer(
    handler: RecordingHandler = RecordingHandler(), group: String? = nil,
    configuration: ControlServer.Configuration = .patient,
    _ body: (String, RecordingHandler) async throws -> Void
) async throws {
    let directory = try ScratchDirectory()
    defer { directory.remove() }
    let path = directory.file("control.sock")
    let listener = try ControlServer.openListener(path: path, mode: 0o666, groupName: nil, logger: quietLogger)
    let server = ControlServer(listener: listener, groupName: group, handler: handler, logger: quietLogger, configuration: configuration)
    server.start()
    let task = Task { await server.run() }
    do {
        try await body(path, handler)
    } catch {
        task.cancel()
        await task.value
        throw error
    }
    task.cancel()
    await task.value
}

@Suite(.serialized) struct ControlServerTests {
    @Test func answersEachLineAndKeepsTheConnectionAfterErrors() async throws {
        try await withControlServer { path, handler in
            let client = try LineClient(path: path)
            let answers = try await blocking {
                try [
                    "not json", "[1,2]", #"{"command":7}"#, #"{"command":"launch"}"#, #"{"verb":"status"}"#,
                    #"{"command":"status","extra":1}"#,
                    #"{"command":"override","scope":{"domain":"policy0"},"mode":"fast"}"#,
                    #"{"command":"override","scope":{"domain":"policy9"},"mode":"performance"}"#,
                    #"{"command":"status"}"#,
                ].map { try client.ask($0) }
            }
            let codes = answers.map { $0["error"]?["code"]?.stringValue }
            #expect(codes == ["malformed", "malformed", "malformed", "unknown_command", "malformed", "malformed", "malformed", "invalid", nil])
            #expect(answers.dropLast().allSatisfy { $0["ok"]?.boolValue == false })
            let messages = answers.compactMap { $0["error"]?["message"]?.stringValue }
            try #require(messages.count == 8, "\(answers)")
            #expect(messages[2].contains("\"command\" must be a string"))
            #expect(messages[4].contains("\"command\" is missing"))
            #expect(messages[5].contains("unknown field \"extra\""))
            #expect(messages[6].contains("\"mode\" is \"fast\""))
            #expect(messages[7].contains("no frequency domain named \"policy9\""))
            #expect(answers.last?["ok"]?.boolValue == true)
            #expect(answers.last?["mode"]?.stringValue == "test")
            // Only well-formed requests reached the agent.
            #expect(await handler.calls == ["override", "status"])
        }
    }

    @Test func rootMayChangeAndEveryCommandReachesTheAgent() async throws {
        try await withControlServer(group: "adm") { path, handler in
            let client = try LineClient(path: path)
            let answers = try await blocking {
                try [
                    #"{"command":"override","scope":{"cpus":"0-1"},"frequency_khz":1500000,"duration_s":2}"#,
                    #"{"command":"plan"}"#, #"{"command":"explain"}"#, #"{"command":"reload"}"#, #"{"command":"resume"}"#,
                ].map { try client.ask($0) }
            }
            #expect(answers.allSatisfy { $0["ok"]?.boolValue == true }, "\(answers)")
            #expect(answers[0]["override"]?["scope"]?["cpus"]?.stringValue == "0-1")
            #expect(answers[0]["override"]?["frequency_khz"]?.intValue == 1_500_000)
            #expect(answers[0]["override"]?["expires_in_s"]?.doubleValue == 2)
            #expect(answers[4]["removed"]?.intValue == 1)
            #expect(await handler.calls == ["override", "plan", "explain", "reload", "resume"])
        }
    }

    @Test func gearboxctlConfirmsAnOverrideWhateverTheAgentEchoes() async throws {
        for terse in [false, true] {
            try await withControlServer(handler: RecordingHandler(terse: terse)) { path, _ in
                let result = try await runChild(BuiltProducts.gearboxctl, [
                    "override", "--domain", "policy0", "--mode", "performance", "--duration", "90s", "--socket", path])
                #expect(result.status == 0, "\(result)")
                #expect(result.stdout == "override 1 in force: domain policy0: performance, for 90.0 s.\n", "terse \(terse): \(result.stdout)")
                let target = try await runChild(BuiltProducts.gearboxctl, [
                    "override", "--queue", "web", "--p99-ms", "12.5", "--socket", path])
                #expect(target.stdout == "override 2 in force: host: queue web p99 12.50 ms, until resume.\n", "terse \(terse): \(target.stdout)")
            }
        }
    }

    @Test func overlongLineIsAnsweredThenClosed() async throws {
        var configuration = ControlServer.Configuration.patient
        configuration.maxLineBytes = 1024
        try await withControlServer(configuration: configuration) { path, handler in
            let client = try LineClient(path: path)
            let (answer, after) = try await blocking { () throws -> (JSONValue, String?) in
                let answer = try client.ask(#"{"command":"status","pad":""# + String(repeating: "x", count: 5000) + #""}"#)
                return (answer, try client.readLine())
            }
            #expect(answer["error"]?["code"]?.stringValue == "malformed")
            #expect(answer["error"]?["message"]?.stringValue?.contains("longer than 1024 bytes") == true)
            #expect(after == nil, "the connection stays open after an overlong line")
            #expect(await handler.calls.isEmpty)
        }
    }

    @Test func lastLineWithoutNewlineIsAnsweredAndBadUTF8IsRefused() async throws {
        try await withControlServer { path, _ in
            let client = try LineClient(path: path)
            let answers = try await blocking { () throws -> [JSONValue?] in
                try client.send(#"{"command":"st"}"# + "\n")
                var bytes = Array(#"{"command":"status"}"#.utf8)
                bytes.insert(0xFF, at: 5)
                try client.send(bytes: bytes + [UInt8(ascii: "\n")])
                try client.send(#"{"command":"status"}"#)
                shutdown(client.descriptor, Int32(SHUT_WR))
                return try [client.readLine(), client.readLine(), client.readLine()].map { try $0.map(JSONParser.parse) }
            }
            #expect(answers[0]?["error"]?["code"]?.stringValue == "unknown_command")
            #expect(answers[1]?["error"]?["message"]?.stringValue == "request is not valid UTF-8")
            #expect(answers[2]?["ok"]?.boolValue == true)
        }
    }

    @Test func aStuckClientDoesNotHoldUpOthers() async throws {
        try await withControlServer { path, _ in
            // One client connects and sends half a line, then nothing.
            let stuck = try LineClient(path: path)
            try stuck.send(#"{"command":"sta"#)
            let other = try LineClient(path: path)
            let answer = try await blocking { try other.ask(#"{"command":"status"}"#) }
            #expect(answer["ok"]?.boolValue == true)
            withExtendedLifetime(stuck) {}
        }
    }

    @Test func aSlowAgentIsAnsweredFailedAtTheDeadline() async throws {
        var configuration = ControlServer.Configuration()
        configuration.handlerTimeout = .milliseconds(200)
        try await withControlServer(handler: RecordingHandler(statusDelay: .seconds(3)), configuration: configuration) { path, _ in
            let client = try LineClient(path: path)
            // Timed on the client's thread: resuming this task may itself wait for the pool.
            let (answer, waited) = try await blocking { () throws -> (JSONValue, Double) in
                let started = Date()
                let answer = try client.ask(#"{"command":"status"}"#)
                return (answer, Date().timeIntervalSince(started))
            }
            #expect(answer["error"]?["code"]?.stringValue == "failed")
            #expect(answer["error"]?["message"]?.stringValue?.contains("did not answer") == true)
            #expect(waited < 2.5)
        }
    }

    @Test(.enabled(if: getuid() == 0, "needs root to connect as another user"))
    func tooManyConnectionsAreToldSoButRootKeepsAReserve() async throws {
        var configuration = ControlServer.Configuration.patient
        configuration.maxConnections = 2
        configuration.reservedForChanges = 1
        // The held connections must outlive a slow start of the child on a loaded machine.
        configuration.idleTimeout = .seconds(600)
        try await withControlServer(configuration: configuration) { path, _ in
            let held = [try LineClient(path: path), try LineClient(path: path)]
            // Wait until both are admitted: each answers a status.
            for client in held { #expect(try await blocking { try client.ask(#"{"command":"status"}"#) }["ok"]?.boolValue == true) }
            // An unprivileged user finds every ordinary slot taken.
            let refused = try await runChild("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                                  BuiltProducts.gearboxctl, "status", "--socket", path])
            #expect(refused.status == 1)
            #expect(refused.stderr == "gearboxctl: the agent is serving 2 connections; try again\n", "\(refused)")
            // Root (this test) still gets the reserved one, and no more.
            let reserved = try LineClient(path: path)
            #expect(try await blocking { try reserved.ask(#"{"command":"status"}"#) }["ok"]?.boolValue == true)
            let beyond = try LineClient(path: path)
            let answer = try await blocking { try beyond.readLine().map(JSONParser.parse) }
            #expect(answer?["error"]?["code"]?.stringValue == "failed")
            // An optimised build may end a value's life at its last use: the held connections
            // (closed when their clients go) must stay open until here.
            withExtendedLifetime((held, reserved)) {}
        }
    }

    @Test func stoppingRemovesTheSocketItBound() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let path = directory.file("sub/control.sock")
        let listener = try ControlServer.openListener(path: path, mode: 0o660, groupName: "adm", logger: quietLogger)
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_mode & 0o777 == 0o660 && info.st_gid == 4)
        let server = ControlServer(listener: listener, groupName: nil, handler: RecordingHandler(), logger: quietLogger,
                                   configuration: .patient)
        // No start() here: run() alone, as the agent does, begins accepting too.
        let task = Task { await server.run() }
        let client = try LineClient(path: path)
        #expect(try await blocking { try client.ask(#"{"command":"status"}"#) }["ok"]?.boolValue == true)
        task.cancel()
        await task.value
        #expect(!FileManager.default.fileExists(atPath: path))
        // The open connection was shut down with the server.
        #expect(try await blocking { try client.readLine() } == nil)
    }
}
