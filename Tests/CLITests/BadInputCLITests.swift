import Foundation
import GearboxTestSupport
import Testing

/// The reproductions of issue 17, run through the built gearboxctl: each bad input ends with
/// exit status 2 and one line on stderr naming what is wrong, never a trap or a silent run.
// Serialized: each case blocks a pool thread while gearboxctl runs (see PlanCLITests).
@Suite(.serialized) struct BadInputCLITests {
    static let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gearbox-bad-input-\(getpid())")

    /// Writes `text` to a file of this suite's scratch directory and returns its path.
    static func file(_ name: String, _ text: String) throws -> String {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    static func workload(_ queueLines: String) -> String {
        "[[queue]]\nname = \"web\"\n\(queueLines)\n"
    }

    /// Exit 2 and exactly one line on stderr containing every fragment.
    static func expectRefused(_ r: BuiltTool.Result, naming fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 2, "status \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(r.stderr.contains(fragment), "no \"\(fragment)\" in: \(r.stderr)", sourceLocation: sourceLocation)
        }
    }

    static func plan(workload: String, platform: String = BuiltTool.example("server-8cpu.toml")) throws -> BuiltTool.Result {
        try BuiltTool.run("gearboxctl", ["plan", "--platform", platform, "--workload", workload])
    }

    static func simulate(_ extra: [String], workload: String = BuiltTool.example("server-8cpu-low.toml")) throws -> BuiltTool.Result {
        try BuiltTool.run("gearboxctl", ["simulate", "--platform", BuiltTool.example("server-8cpu.toml"),
                                         "--workload", workload, "--policy", "performance"] + extra)
    }

    // MARK: Reproduction 1: nesting

    @Test(arguments: [("brackets", "["), ("tables", "{a=")])
    func deeplyNestedTOMLIsRefusedWithFileAndLine(name: String, opener: String) throws {
        let text = Self.workload("arrival_rate = 10\nmean_work_ms = 1\nlatency = { mean_ms = 10 }")
            + "deep = " + String(repeating: opener, count: 40_000) + "\n"
        let path = try Self.file("deep-\(name).toml", text)
        Self.expectRefused(try Self.plan(workload: path), naming: ["\(path):6:"])
    }

    // MARK: Reproduction 2: numbers that trapped while being formatted

    @Test(arguments: [("mean_work_ms = 1e19", "mean_work_ms"), ("mean_work_ms = 1.7976931348623157e308", "mean_work_ms"),
                      ("mean_work_ms = 1\nscv = 1e18", "scv")])
    func hugeWorkOrVariabilityIsRefusedNamingTheField(line: String, field: String) throws {
        let path = try Self.file("huge-\(field).toml", Self.workload("arrival_rate = 10\n\(line)\nlatency = { p99_ms = 10 }"))
        Self.expectRefused(try Self.plan(workload: path), naming: [path, "queue[1].\(field)"])
    }

    @Test func hugeWorkOnTheCommandLineIsRefusedNamingTheKey() throws {
        let r = try BuiltTool.run("gearboxctl", ["plan", "--platform", BuiltTool.example("server-8cpu.toml"),
                                                 "--queue", "name=web,rate=1,work-ms=1e20,mean-ms=10"])
        Self.expectRefused(r, naming: ["work-ms"])
    }

    /// The largest values the ranges allow still format: an overloaded queue with a heavy
    /// tail plans as infeasible (exit 1) and prints its table.
    @Test func extremeButAcceptedValuesPrintAPlan() throws {
        let r = try BuiltTool.run("gearboxctl", ["plan", "--platform", BuiltTool.example("server-8cpu.toml"),
                                                 "--queue", "name=web,rate=7999,work-ms=1,scv=1000,p99-ms=3600000"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stdout.contains("INFEASIBLE") && r.stdout.contains("web"), "\(r.stdout)")
    }

    // MARK: Reproduction 3: status and explain print any number the agent sends

    /// A stand-in agent on a real Unix socket answers every request with `reply`.
    static func withFakeAgent(reply: String, connections: Int, _ body: (String) throws -> Void) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let socket = directory.appendingPathComponent("control-\(connections).sock").path
        try? FileManager.default.removeItem(atPath: socket)
        let script = """
            import socket, sys
            path, reply, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            s.listen(8)
            print("ready", flush=True)
            for _ in range(count):
                c, _ = s.accept()
                data = b""
                while b"\\n" not in data:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                c.sendall(reply.encode() + b"\\n")
                c.close()
            """
        let agent = try LoopbackTestServer(script: script, arguments: [socket, reply, String(connections)])
        defer { agent.stop() }
        try body(socket)
    }

    static let extremeStatus = """
        {"ok":true,"mode":"service","power_watts":1e300,"feasible":true,\
        "domains":[{"name":"policy0","cpus":[0,1],"low_khz":9223372036854775807,"high_khz":-9223372036854775808,\
        "p_high":1e300,"time_share_high":-1e300,"current_khz":1.7976931348623157e308,"pinned_khz":9223372036854775807,"note":"x"}],\
        "queues":[{"name":"web","kind":"p99","arrival_rate":1e300,"mean_work_ms":-1e300,"target_ms":1e300,\
        "predicted_ms":1.7976931348623157e308,"measured_mean_ms":5e-324,"met":true,"binding":"latency",\
        "slack_ms":-1e300,"max_utilization":1e300,"marginal_watts_per_ms":1e300}],\
        "overrides":[{"id":9223372036854775807,"scope":{"host":true},"queue":"web","target":{"p99_ms":1e300},"expires_in_s":1e300},\
        {"id":2,"scope":{"cpus":"0-1"},"frequency_khz":9223372036854775807,"expires_in_s":-1e300}]}
        """

    @Test(arguments: ["status", "explain"])
    func statusAndExplainPrintExtremeNumbersWithoutTrapping(command: String) throws {
        try Self.withFakeAgent(reply: Self.extremeStatus, connections: 1) { socket in
            let r = try BuiltTool.run("gearboxctl", [command, "--socket", socket])
            #expect(r.status == 0, "status \(r.status): \(r.stderr)")
            #expect(r.stdout.contains("1e+300"), "\(r.stdout)")
            #expect(r.stdout.contains("web"), "\(r.stdout)")
        }
    }

    @Test(arguments: [(["--p99-ms", "1e300"], "--p99-ms"), (["--p99-ms", "1e-300"], "--p99-ms"), (["--mean-ms", "-5"], "--mean-ms")])
    func anOverrideTargetOutOfRangeIsRefusedBeforeConnecting(arguments: [String], option: String) throws {
        let r = try BuiltTool.run("gearboxctl", ["override", "--queue", "web"] + arguments
                                   + ["--socket", "/nonexistent/gearbox.sock"])
        Self.expectRefused(r, naming: [option])
        #expect(!r.stderr.contains("Missing value"), "\(r.stderr)")
    }

    @Test func anOverrideFrequencyBelowTenMegahertzIsRefused() throws {
        let r = try BuiltTool.run("gearboxctl", ["override", "--host", "--frequency-mhz", "1.2", "--socket", "/nonexistent/gearbox.sock"])
        Self.expectRefused(r, naming: ["--frequency-mhz"])
    }

    // MARK: Reproduction 4: cpulists

    @Test func aHostileCPUListOnTheCommandLineIsRefusedQuickly() throws {
        let cpus = Array(repeating: "0-65535", count: 8000).joined(separator: ",")
        let start = ContinuousClock.now
        let r = try BuiltTool.run("gearboxctl", ["override", "--cpus", cpus, "--mode", "performance", "--socket", "/nonexistent/gearbox.sock"])
        Self.expectRefused(r, naming: ["--cpus"])
        #expect(r.stderr.utf8.count < 400, "the message repeats the whole list")
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    // MARK: Reproduction 5: frequencies in MHz where kHz are meant

    @Test func aPlatformInMegahertzIsRefusedWithAHint() throws {
        let platform = try Self.file("mhz.toml", "[[domain]]\ncpus = \"0-3\"\nfrequencies_khz = [1200, 2700]\npower = { dynamic_watts = 2 }\n")
        let workload = try Self.file("mhz-work.toml", Self.workload("arrival_rate = 10\nmean_work_ms = 1\nlatency = { mean_ms = 10 }"))
        Self.expectRefused(try Self.plan(workload: workload, platform: platform),
                           naming: ["\(platform):3:", "frequencies_khz", "MHz"])
    }

    // MARK: Reproduction 6: simulations without bound, and unclear messages

    @Test func anArrivalRateOf1e300IsRefused() throws {
        let path = try Self.file("rate.toml", Self.workload("arrival_rate = 1e300\nmean_work_ms = 1\nlatency = { mean_ms = 10 }"))
        Self.expectRefused(try Self.simulate([], workload: path), naming: [path, "arrival_rate"])
    }

    /// Ten million requests a second for 70 s is some 7 × 10^8 requests: refused before it runs.
    @Test func aRunOfTooManyRequestsIsRefusedBeforeItStarts() throws {
        let path = try Self.file("busy.toml", Self.workload("arrival_rate = 10000000\nmean_work_ms = 0.0001\nlatency = { mean_ms = 10 }"))
        let start = ContinuousClock.now
        Self.expectRefused(try Self.simulate([], workload: path), naming: ["requests"])
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test(arguments: [["--duration", "1e12"], ["--duration", "-5"], ["--duration=-5"], ["--duration", "nan"],
                      ["--warm-up", "-1"], ["--warm-up", "1e12"]])
    func anOutOfRangeDurationIsRefusedClearly(arguments: [String]) throws {
        let option = String(arguments[0].prefix { $0 != "=" })
        let r = try Self.simulate(arguments)
        Self.expectRefused(r, naming: [option])
        #expect(!r.stderr.contains("Missing value"), "\(r.stderr)")
    }

    @Test(arguments: ["--platform", "--workload", "--trace"])
    func aDirectoryGivenAsAFileIsCalledADirectory(option: String) throws {
        var arguments = ["simulate", "--platform", BuiltTool.example("server-8cpu.toml"),
                         "--workload", BuiltTool.example("server-8cpu-low.toml"), "--duration", "1"]
        if let i = arguments.firstIndex(of: option) {
            arguments[i + 1] = NSTemporaryDirectory()
        } else {
            arguments += [option, NSTemporaryDirectory()]
        }
        let r = try BuiltTool.run("gearboxctl", arguments)
        Self.expectRefused(r, naming: ["directory"])
    }

    @Test func aTraceOutOfTimeOrderIsRefusedAtTheLineThatGoesBack() throws {
        let path = try Self.file("backwards.csv", "time_s,work_ms,queue\n0.1,2,web\n0.5,2,web\n0.3,2,web\n0.6,2,web\n")
        let workload = try Self.file("trace-work.toml", Self.workload("arrival_rate = 10\nmean_work_ms = 2\nlatency = { mean_ms = 10 }"))
        let r = try Self.simulate(["--trace", path, "--duration", "1"], workload: workload)
        Self.expectRefused(r, naming: ["\(path):4:", "time_s"])
    }

    // MARK: Reproduction 7: every number of a file (the agent's own file: InputBoundsTests)

    @Test func aPlatformPowerOutOfRangeIsRefusedWithFileAndLine() throws {
        let platform = try Self.file("watts.toml", "[[domain]]\ncpus = \"0\"\nopp = [{ khz = 1000000, watts = 1e300 }]\n")
        let workload = try Self.file("watts-work.toml", Self.workload("arrival_rate = 10\nmean_work_ms = 1\nlatency = { mean_ms = 10 }"))
        Self.expectRefused(try Self.plan(workload: workload, platform: platform), naming: ["\(platform):3:", "watts"])
    }
}
