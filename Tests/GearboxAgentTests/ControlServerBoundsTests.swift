import Foundation
import GearboxTestSupport
@testable import GearboxAgent
import GearboxControl
import GearboxLinux
import Glibc
import Testing

// What one local peer can cost the control server: real sockets, clients as other users.

/// A control client run as another user (through setpriv), in Python: connects as that user
/// (the kernel records the uid at connect), so the server's SO_PEERCRED check sees it.
///
///     ask PATH LINEFILE        sends LINEFILE's bytes and a newline; prints the answer line
///     asks PATH LINEFILE       sends LINEFILE's lines at once on one connection; prints each
///                              answer line, then the seconds from connecting to the last answer
///     hold PATH OUTFILE N      opens N connections, asks status on each and appends each answer
///                              line to OUTFILE, then "holding", and keeps them open until killed
enum OtherUserClient {
    static let setpriv = "/usr/bin/setpriv"
    static let python = "/usr/bin/python3"
    static let available = getuid() == 0
        && FileManager.default.isExecutableFile(atPath: setpriv) && FileManager.default.isExecutableFile(atPath: python)
    static let skipReason: Comment = "needs root, \(setpriv) and \(python) to connect as another user"

    static let script = #"""
        import socket, sys, time
        def connect(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        def send(s, data):
            # A refused connection is closed right after its one line: sending may find it gone.
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
        def answer(s):
            s.settimeout(60)
            data = b""
            while not data.endswith(b"\n"):
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                data += chunk
            return data.decode(errors="replace").strip() or "closed"
        mode, path = sys.argv[1], sys.argv[2]
        if mode == "ask":
            s = connect(path)
            send(s, open(sys.argv[3], "rb").read() + b"\n")
            print(answer(s), flush=True)
        elif mode == "asks":
            s = connect(path)
            started = time.monotonic()
            lines = open(sys.argv[3], "rb").read().splitlines()
            send(s, b"\n".join(lines) + b"\n")
            reader = s.makefile("rb")
            for _ in lines:
                print(reader.readline().decode().strip())
            print("%.3f" % (time.monotonic() - started), flush=True)
        elif mode == "hold":
            out = open(sys.argv[3], "a", buffering=1)
            held = []
            for _ in range(int(sys.argv[4])):
                s = connect(path)
                send(s, b'{"command":"status"}\n')
                out.write(answer(s) + "\n")
                held.append(s)
            out.write("holding\n")
            time.sleep(3600)
        """#

    static func arguments(uid: uid_t, _ rest: [String]) -> [String] {
        ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", python, "-c", script] + rest
    }

    /// Runs `ask` as `uid` and returns the answer line, parsed.
    static func ask(uid: uid_t, path: String, lineFile: String) async throws -> JSONValue {
        let result = try await runChild(setpriv, arguments(uid: uid, ["ask", path, lineFile]), timeout: 90)
        try #require(result.status == 0, "\(result)")
        return try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Starts `hold` as `uid`, writing into a fresh file of `directory` that the user may append to.
    static func hold(uid: uid_t, path: String, connections: Int, in directory: ScratchDirectory) throws -> (SpawnedChild, String) {
        let output = directory.file("held-by-\(uid)")
        guard FileManager.default.createFile(atPath: output, contents: nil) else { throw POSIXError(.EACCES) }
        chmod(output, 0o666)
        return (try SpawnedChild(setpriv, arguments(uid: uid, ["hold", path, output, "\(connections)"])), output)
    }

    /// The answer lines a `hold` client wrote, once it wrote "holding" (nil until then).
    static func heldAnswers(_ output: String) -> [String]? {
        guard let text = try? String(contentsOfFile: output, encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.last == "holding" else { return nil }
        return Array(lines.dropLast())
    }
}

/// `{"command":"override","scope":{"cpus":"0-65535,0-65535,..."}, ...}` with `ranges` ranges:
/// at 8,000 ranges a line just under 64 KiB whose cpulist names 524 million CPUs.
func hostileOverride(ranges: Int) -> String {
    let cpus = Array(repeating: "0-65535", count: ranges).joined(separator: ",")
    return #"{"command":"override","scope":{"cpus":""# + cpus + #""},"mode":"performance","duration_s":60}"#
}

/// A client that sends `prefix`, then one more byte every `interval` and never a newline,
/// until the server answers or closes; returns what it read and how long it dripped. Gives up
/// (throws) after `limit` seconds.
func drip(_ client: LineClient, prefix: String, interval: Double, limit: Double) throws -> (answer: String?, seconds: Double) {
    let started = Date()
    try client.send(prefix)
    while Date().timeIntervalSince(started) < limit {
        var entry = pollfd(fd: client.descriptor, events: Int16(POLLIN), revents: 0)
        if poll(&entry, 1, Int32(interval * 1000)) > 0 {
            let answer = try client.readLine()
            return (answer, Date().timeIntervalSince(started))
        }
        try client.send(" ")
    }
    throw LineClient.Failure(description: "still open after dripping for \(limit) s")
}

@Suite(.serialized) struct ControlServerBoundsTests {
    /// The defaults with short time limits, so that tests see them pass.
    static func shortLimits(lineDeadline: Duration = .seconds(1), idleTimeout: Duration = .seconds(60)) -> ControlServer.Configuration {
        var configuration = ControlServer.Configuration.patient
        configuration.lineDeadline = lineDeadline
        configuration.idleTimeout = idleTimeout
        return configuration
    }

    @Test func theEnvelopeReadsTheCommandAndLeavesTheFieldsForLater() throws {
        let envelope = try ControlRequest.Envelope(line: hostileOverride(ranges: 8000))
        #expect(envelope.command == "override")
        #expect(envelope.changesPolicy)
        #expect(try !ControlRequest.Envelope(line: #"{"command":"explain"}"#).changesPolicy)
        #expect(try ControlRequest.Envelope(line: #"{"command":"reload"}"#).changesPolicy)
        // Fields are checked when opened, not before.
        let extra = try ControlRequest.Envelope(line: #"{"command":"resume","force":true}"#)
        #expect(throws: ControlFailure(.malformed, #"unknown field "force" for command "resume"; expected "command""#)) { try extra.open() }
        #expect(throws: ControlFailure(.unknownCommand, #"unknown command "launch"; expected one of status, plan, explain, override, resume, reload, set_profile"#)) {
            try ControlRequest.Envelope(line: #"{"command":"launch"}"#)
        }
        // set_profile changes policy; its profile is checked when opened.
        let profile = try ControlRequest.Envelope(line: #"{"command":"set_profile","profile":"turbo"}"#)
        #expect(profile.changesPolicy)
        #expect(throws: ControlFailure(.invalid, #"unknown profile "turbo"; expected one of power-saver, balanced, performance"#)) { try profile.open() }
        #expect(try ControlRequest.Envelope(line: #"{"command":"set_profile","profile":"power-saver"}"#).open() == .setProfile(.powerSaver))
        #expect(try ControlRequest.Envelope(line: #"{"command":"override","scope":{"cpus":"2-3"},"mode":"powersave"}"#).open()
                == .override(OverrideRequest(scope: .cpus([2, 3]), action: .mode(.powersave), duration: nil)))
    }

    @Test(.enabled(if: OtherUserClient.available, OtherUserClient.skipReason))
    func aHostileCpulistFromAnUnprivilegedUserIsRefusedBeforeItIsDecoded() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let line = hostileOverride(ranges: 8000)
        // 8,000 ranges of 8 bytes, less one comma, and 79 around them (39 before, 40 after): within the line bound.
        let expectedBytes: Int = 8000 * 8 - 1 + 79
        #expect(line.utf8.count == expectedBytes)
        #expect(line.utf8.count <= ControlServer.Configuration().maxLineBytes)
        let lineFile = directory.file("hostile.json")
        try line.write(toFile: lineFile, atomically: true, encoding: .utf8)
        chmod(lineFile, 0o644)
        try await withControlServer { path, handler in
            let answer = try await OtherUserClient.ask(uid: 65534, path: path, lineFile: lineFile)
            #expect(answer["error"]?["code"]?.stringValue == "permission_denied", "\(answer)")
            #expect(answer["error"]?["message"]?.stringValue == "permission denied: changes need root")
            // Refused before its fields are read: a bad cpulist and an unknown mode go unremarked.
            let malformedFile = directory.file("malformed.json")
            try #"{"command":"override","scope":{"cpus":"x"},"mode":"fast"}"#.write(toFile: malformedFile, atomically: true, encoding: .utf8)
            chmod(malformedFile, 0o644)
            let malformed = try await OtherUserClient.ask(uid: 65534, path: path, lineFile: malformedFile)
            #expect(malformed["error"]?["code"]?.stringValue == "permission_denied", "\(malformed)")
            // The agent still answers, and the refused request never reached it.
            let root = try LineClient(path: path)
            #expect(try await blocking { try root.ask(#"{"command":"status"}"#) }["ok"]?.boolValue == true)
            #expect(await handler.calls == ["status"])
        }
    }

    @Test func aLineDrippedByteByByteIsRefusedAtTheLineDeadline() async throws {
        try await withControlServer(configuration: Self.shortLimits()) { path, handler in
            let client = try LineClient(path: path)
            // A byte every 100 ms: each read would restart a per-read timeout, never the line's.
            let (answer, seconds) = try await blocking { try drip(client, prefix: #"{"command":"status""#, interval: 0.1, limit: 30) }
            let refusal = try JSONParser.parse(try #require(answer))
            #expect(refusal["error"]?["code"]?.stringValue == "malformed")
            #expect(refusal["error"]?["message"]?.stringValue
                    == "request line not complete within 1.0 seconds of its first byte; closing the connection")
            #expect(seconds >= 1, "closed before the line's deadline")
            #expect(try await blocking { try client.readLine() } == nil, "the connection stays open")
            #expect(await handler.calls.isEmpty)
        }
    }

    @Test func drippingClientsHoldingEverySlotAreClosedAndOthersServedAgain() async throws {
        var configuration = Self.shortLimits()
        configuration.maxConnections = 3
        configuration.reservedForChanges = 0
        try await withControlServer(configuration: configuration) { path, _ in
            let drippers = try (0..<3).map { _ in try LineClient(path: path) }
            // Every slot is taken once the three have been admitted: a fourth is told so.
            async let dripped = withThrowingTaskGroup(of: String?.self) { group in
                for client in drippers {
                    group.addTask { try await blocking { try drip(client, prefix: "{", interval: 0.1, limit: 30).answer } }
                }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            let refused = try await blocking { () throws -> JSONValue? in
                // Admission happens on the server's thread: retry until the three are in.
                for _ in 0..<200 {
                    let probe = try LineClient(path: path)
                    guard let line = try probe.readLine(deadline: 0.05) else { continue }
                    return try JSONParser.parse(line)
                }
                return nil
            }
            #expect(refused?["error"]?["message"]?.stringValue == "the agent is serving 3 connections; try again", "\(String(describing: refused))")
            let answers = try await dripped
            #expect(answers.count == 3 && answers.allSatisfy { $0?.contains("not complete within") == true }, "\(answers)")
            // The slots are free again.
            let later = try LineClient(path: path)
            #expect(try await blocking { try later.ask(#"{"command":"status"}"#) }["ok"]?.boolValue == true)
        }
    }

    @Test func theDeadlineCountsFromALinesFirstByteAndIdleConnectionsStillClose() async throws {
        try await withControlServer(configuration: Self.shortLimits(lineDeadline: .seconds(1), idleTimeout: .seconds(3))) { path, handler in
            let client = try LineClient(path: path)
            let answers = try await blocking { () throws -> [JSONValue] in
                let first = try client.ask(#"{"command":"status"}"#)
                // Longer than the line deadline, shorter than the idle timeout: between lines, so allowed.
                usleep(1_500_000)
                return [first, try client.ask(#"{"command":"plan"}"#)]
            }
            #expect(answers.allSatisfy { $0["ok"]?.boolValue == true }, "\(answers)")
            #expect(await handler.calls == ["status", "plan"])
            // Silent after that: closed at the idle timeout, without an answer.
            #expect(try await blocking { try client.readLine() } == nil)
        }
    }

    @Test(.enabled(if: OtherUserClient.available, OtherUserClient.skipReason))
    func oneUserCannotTakeEverySlot() async throws {
        var configuration = ControlServer.Configuration.patient
        configuration.maxConnections = 6
        configuration.maxConnectionsPerUser = 2
        configuration.reservedForChanges = 1
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        try await withControlServer(configuration: configuration) { path, _ in
            let (greedy, greedyOutput) = try OtherUserClient.hold(uid: 65534, path: path, connections: 3, in: directory)
            let (other, otherOutput) = try OtherUserClient.hold(uid: 65533, path: path, connections: 2, in: directory)
            defer {
                greedy.signal(SIGKILL)
                other.signal(SIGKILL)
            }
            #expect(await eventually(timeout: 90) { OtherUserClient.heldAnswers(greedyOutput) != nil && OtherUserClient.heldAnswers(otherOutput) != nil })
            let greedyAnswers = try (OtherUserClient.heldAnswers(greedyOutput) ?? []).map { try JSONParser.parse($0) }
            let otherAnswers = try (OtherUserClient.heldAnswers(otherOutput) ?? []).map { try JSONParser.parse($0) }
            // Two for uid 65534, the third refused; uid 65533 gets its two.
            #expect(greedyAnswers.map { $0["ok"]?.boolValue } == [true, true, false], "\(greedyAnswers)")
            #expect(greedyAnswers.last?["error"]?["message"]?.stringValue == "uid 65534 already has 2 connections open; close one and try again")
            #expect(otherAnswers.map { $0["ok"]?.boolValue } == [true, true], "\(otherAnswers)")
            // Root is not held to the per-user cap: three at once, with four slots held by others.
            let roots = try (0..<3).map { _ in try LineClient(path: path) }
            for client in roots {
                #expect(try await blocking { try client.ask(#"{"command":"status"}"#) }["ok"]?.boolValue == true)
            }
        }
    }
}

@Suite(.serialized) struct ControlServerRateTests {
    @Test func aUsersBucketGivesABurstThenOneRequestPerInterval() {
        var rates = RequestRates(perSecond: 4)
        let start = ContinuousClock.now
        // A full bucket of 4: four at once wait for nothing, the fifth for a quarter second,
        // the sixth for half a second (it queues behind the fifth).
        let burst = (0..<6).map { _ in rates.reserve(for: 1000, at: start) }
        #expect(burst == [.zero, .zero, .zero, .zero, .milliseconds(250), .milliseconds(500)])
        // Another user has a bucket of its own.
        #expect(rates.reserve(for: 1001, at: start) == .zero)
        // One second later 4 tokens have come back to user 1000, which owed 2: 2 left, then waits.
        let later = start + .seconds(1)
        #expect((0..<3).map { _ in rates.reserve(for: 1000, at: later) } == [.zero, .zero, .milliseconds(250)])
        // A bucket never holds more than its burst, however long it rests.
        let muchLater = start + .seconds(3600)
        #expect((0..<5).map { _ in rates.reserve(for: 1000, at: muchLater) } == [.zero, .zero, .zero, .zero, .milliseconds(250)])
    }

    @Test(.enabled(if: OtherUserClient.available, OtherUserClient.skipReason))
    func oneUsersRequestsAreAnsweredAtItsRate() async throws {
        var configuration = ControlServer.Configuration.patient
        configuration.requestsPerSecondPerUser = 4
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        // Twelve status requests sent at once on one connection: four answered from the
        // burst, the eight others a quarter second apart, so the last no sooner than 2 s in.
        let lineFile = directory.file("twelve.json")
        try Array(repeating: #"{"command":"status"}"#, count: 12).joined(separator: "\n").write(toFile: lineFile, atomically: true, encoding: .utf8)
        chmod(lineFile, 0o644)
        try await withControlServer(configuration: configuration) { path, handler in
            let result = try await runChild(OtherUserClient.setpriv, OtherUserClient.arguments(uid: 65534, ["asks", path, lineFile]), timeout: 90)
            let lines = result.stdout.split(separator: "\n").map(String.init)
            try #require(lines.count == 13, "\(result)")
            let answers = try lines.dropLast().map { try JSONParser.parse($0) }
            #expect(answers.allSatisfy { $0["ok"]?.boolValue == true })
            let seconds = try #require(Double(lines[12]))
            #expect(seconds >= 2 * 0.99, "12 requests at 4 a second after a burst of 4 took \(seconds) s")
            // Root is not rate-limited: twelve at once, every one answered.
            let root = try LineClient(path: path)
            let rootAnswers = try await blocking { () throws -> [JSONValue] in
                try root.send(Array(repeating: #"{"command":"plan"}"# + "\n", count: 12).joined())
                return try (0..<12).map { _ in try JSONParser.parse(try #require(try root.readLine())) }
            }
            #expect(rootAnswers.allSatisfy { $0["ok"]?.boolValue == true })
            #expect(await handler.calls == Array(repeating: "status", count: 12) + Array(repeating: "plan", count: 12))
        }
    }
}
