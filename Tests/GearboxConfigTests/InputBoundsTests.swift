import Foundation
import GearboxCore
import Testing
@testable import GearboxConfig

/// Hostile and careless files: each is refused with one line naming file, line and field,
/// and none crashes, recurses without bound or takes time out of proportion to its size.
@Suite struct InputBoundsTests {
    static let platform = Platform(domains: [
        FrequencyDomain(name: "policy0", cpus: [0, 1, 2, 3], capacity: 1024, idlePower: Watts(0.5),
                        operatingPoints: [OperatingPoint(frequency: Kilohertz(1_000_000), busyPower: Watts(1)),
                                          OperatingPoint(frequency: Kilohertz(2_000_000), busyPower: Watts(4))]),
    ])

    /// A workload file whose only queue has `line` as its fifth line (after four fixed ones).
    static func workload(_ line: String, latency: String = "latency = { p99_ms = 50 }") -> String {
        "[[queue]]\nname = \"web\"\narrival_rate = 100\n\(latency)\n\(line)\n"
    }

    static func refusal(_ body: () throws -> Void) -> ConfigError? {
        do {
            try body()
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            Issue.record("not a ConfigError: \(error)")
            return nil
        }
    }

    // MARK: Nesting (issue 17: 40,000 `[` or `{a=` overflowed the stack)

    @Test(arguments: ["[", "{a="])
    func fortyThousandNestedLevelsAreRefusedWithTheLine(opener: String) throws {
        let text = Self.workload("mean_work_ms = 2") + "deep = " + String(repeating: opener, count: 40_000) + "\n"
        let error = try #require(Self.refusal { _ = try WorkloadFile.parse(text, file: "deep.toml", platform: Self.platform) })
        #expect(error.file == "deep.toml")
        #expect(error.line == 6)
        #expect(error.message.contains("nested"))
        #expect(!error.description.contains("\n"))
    }

    @Test func nestingUpToTheDocumentedLimitParsesAndOneMoreDoesNot() throws {
        // 64 levels is the limit gearbox documents; its own files nest three deep.
        _ = try TOMLParser.parse("x = " + String(repeating: "[", count: 64) + String(repeating: "]", count: 64))
        #expect(throws: TOMLParser.SyntaxError.self) {
            try TOMLParser.parse("x = " + String(repeating: "[", count: 65) + String(repeating: "]", count: 65))
        }
    }

    @Test func deepDottedKeysAndTableNamesAreRefused() {
        let parts = Array(repeating: "a", count: 40_000).joined(separator: ".")
        for text in ["\(parts) = 1", "[\(parts)]", "[[\(parts)]]"] {
            #expect(throws: TOMLParser.SyntaxError.self) { try TOMLParser.parse(text) }
        }
    }

    /// A long file costs time in proportion to its length: 40,000 keys in one table and
    /// 20,000 array-of-tables headers (quadratic copying made each take minutes).
    @Test func longFilesParseInTimeProportionalToTheirSize() throws {
        let keys = "[t]\n" + (0..<40_000).map { "k\($0) = \($0)" }.joined(separator: "\n")
        let headers = (0..<20_000).map { "[[q]]\nv = \($0)" }.joined(separator: "\n")
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            let table = try TOMLParser.parse(keys)
            guard case .table(let t)? = table["t"]?.value else { Issue.record("no [t]"); return }
            #expect(t.entries.count == 40_000)
            guard case .array(let q)? = try TOMLParser.parse(headers)["q"]?.value else { Issue.record("no [[q]]"); return }
            #expect(q.count == 20_000)
            guard case .table(let last) = q[19_999].value, case .integer(19_999)? = last["v"]?.value else {
                Issue.record("last [[q]] lost its key"); return
            }
        }
        // Linear parsing takes about a second unoptimised; quadratic took minutes.
        #expect(elapsed < .seconds(60), "\(elapsed)")
    }

    // MARK: Numbers in workload files (issue 17: 1e19 trapped while formatting the refusal)

    static let workloadNumbers: [(line: String, latency: String, field: String)] = [
        ("mean_work_ms = 1e19", "latency = { p99_ms = 50 }", "queue[1].mean_work_ms"),
        ("mean_work_ms = 1.7976931348623157e308", "latency = { p99_ms = 50 }", "queue[1].mean_work_ms"),
        ("mean_work_ms = 1e-300", "latency = { p99_ms = 50 }", "queue[1].mean_work_ms"),
        ("mean_work_ms = 2\nscv = 1e18", "latency = { p99_ms = 50 }", "queue[1].scv"),
        ("mean_work_ms = 2\nscv = 1e-300", "latency = { p99_ms = 50 }", "queue[1].scv"),
        ("mean_work_ms = 2", "latency = { p99_ms = 1e300 }", "queue[1].latency.p99_ms"),
        ("mean_work_ms = 2", "latency = { p99_ms = 1e-300 }", "queue[1].latency.p99_ms"),
        ("mean_work_ms = 2", "latency = { mean_ms = 1.7976931348623157e308 }", "queue[1].latency.mean_ms"),
    ]

    @Test(arguments: workloadNumbers)
    func outOfRangeWorkloadNumbersAreRefusedNamingLineAndField(line: String, latency: String, field: String) throws {
        let text = Self.workload(line, latency: latency)
        let error = try #require(Self.refusal { _ = try WorkloadFile.parse(text, file: "w.toml", platform: Self.platform) })
        #expect(error.file == "w.toml")
        #expect(error.field == field, "\(error)")
        // The line where the key was written, counted in the text itself.
        let key = field.split(separator: ".").last.map(String.init)!
        let written = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("\(key) =") }! + 1
        #expect(error.line == written, "\(error)")
        #expect(error.message.contains("between"), "\(error)")
        #expect(!error.description.contains("\n"))
    }

    @Test func anArrivalRateOf1e300IsRefused() throws {
        let text = "[[queue]]\nname = \"web\"\narrival_rate = 1e300\nmean_work_ms = 2\nlatency = { p99_ms = 50 }\n"
        let error = try #require(Self.refusal { _ = try WorkloadFile.parse(text, file: "w.toml", platform: Self.platform) })
        #expect(error.field == "queue[1].arrival_rate" && error.line == 3, "\(error)")
    }

    @Test func moreQueuesThanTheLimitAreRefusedAtTheFirstOneTooMany() throws {
        // 256 queues is the documented limit.
        let one = { (i: Int) in "[[queue]]\nname = \"q\(i)\"\narrival_rate = 1\nmean_work_ms = 1\nlatency = { mean_ms = 100 }\n" }
        let text = (1...257).map(one).joined()
        let error = try #require(Self.refusal { _ = try WorkloadFile.parse(text, file: "w.toml", platform: Self.platform) })
        #expect(error.line == 256 * 5 + 1, "\(error)")
        #expect(error.field == "queue")
    }

    // MARK: Platform files (issue 17: MHz written as kHz planned "1 MHz to 3 MHz")

    @Test func frequenciesWrittenInMegahertzAreRefusedWithAHint() throws {
        let text = "[[domain]]\ncpus = \"0-3\"\nfrequencies_khz = [1200, 2700]\npower = { dynamic_watts = 2 }\n"
        let error = try #require(Self.refusal { _ = try PlatformFile.parse(text, file: "p.toml") })
        #expect(error.field == "domain[1].frequencies_khz" && error.line == 3, "\(error)")
        #expect(error.message.contains("kHz") && error.message.contains("MHz"), "\(error)")
    }

    @Test func anOperatingPointInMegahertzIsRefusedWithItsLine() throws {
        let text = "[[domain]]\ncpus = \"0\"\nopp = [\n  { khz = 1400000, watts = 1 },\n  { khz = 1800, watts = 2 },\n]\n"
        let error = try #require(Self.refusal { _ = try PlatformFile.parse(text, file: "p.toml") })
        #expect(error.field == "domain[1].opp[2].khz" && error.line == 5, "\(error)")
        #expect(error.message.contains("MHz"), "\(error)")
    }

    @Test func aFrequencyAbove20GHzIsRefused() throws {
        let text = "[[domain]]\ncpus = \"0\"\nfrequencies_khz = [1000000, 30000000]\npower = { dynamic_watts = 2 }\n"
        let error = try #require(Self.refusal { _ = try PlatformFile.parse(text, file: "p.toml") })
        #expect(error.field == "domain[1].frequencies_khz", "\(error)")
        #expect(!error.message.contains("MHz ="), "30 GHz is no MHz slip: \(error)")
    }

    static let platformNumbers: [(text: String, line: Int, field: String)] = [
        ("[[domain]]\ncpus = \"0\"\nopp = [{ khz = 1000000, watts = 1e300 }]", 3, "domain[1].opp[1].watts"),
        ("[[domain]]\ncpus = \"0\"\nidle_watts = 1e300\nopp = [{ khz = 1000000, watts = 1 }]", 3, "domain[1].idle_watts"),
        ("[[domain]]\ncpus = \"0\"\ntransition_latency_us = 1e300\nopp = [{ khz = 1000000, watts = 1 }]", 3, "domain[1].transition_latency_us"),
        ("[[domain]]\ncpus = \"0\"\nfrequencies_khz = [1000000]\npower = { dynamic_watts = 1e300 }", 4, "domain[1].power.dynamic_watts"),
        ("[[domain]]\ncpus = \"0\"\nfrequencies_khz = [1000000]\npower = { dynamic_watts = 1, static_watts = 1e300 }", 4, "domain[1].power.static_watts"),
        ("[[domain]]\ncpus = \"0\"\nfrequencies_khz = [1000000]\npower = { dynamic_watts = 1, exponent = 1e300 }", 4, "domain[1].power.exponent"),
        ("[[domain]]\ncpus = 9000\nopp = [{ khz = 1000000, watts = 1 }]", 2, "domain[1].cpus"),
        ("[[domain]]\ncpus = \"0-65535\"\nopp = [{ khz = 1000000, watts = 1 }]", 2, "domain[1].cpus"),
    ]

    @Test(arguments: platformNumbers)
    func outOfRangePlatformNumbersAreRefusedNamingLineAndField(text: String, line: Int, field: String) throws {
        let error = try #require(Self.refusal { _ = try PlatformFile.parse(text, file: "p.toml") })
        #expect(error.file == "p.toml" && error.line == line && error.field == field, "\(error)")
    }

    // MARK: The agent's configuration

    static let agentNumbers: [(text: String, line: Int, field: String)] = [
        ("[agent]\nsmoothing_half_life_s = 1e300", 2, "agent.smoothing_half_life_s"),
        ("[kernel]\nrequest_ms = 1e300", 2, "kernel.request_ms"),
        ("[kernel]\nlatency = { p99_ms = 1e-300 }", 2, "kernel.latency.p99_ms"),
        ("[[queue]]\nname = \"web\"\narrival_rate = 1e300\nmean_work_ms = 1\nlatency = { mean_ms = 10 }", 3, "queue[1].arrival_rate"),
        ("[[queue]]\nname = \"web\"\nmean_work_ms = 1e19\nlatency = { mean_ms = 10 }\n[queue.source]\nfile = \"/x\"\narrivals = \"a\"", 3, "queue[1].mean_work_ms"),
    ]

    @Test(arguments: agentNumbers)
    func outOfRangeAgentSettingsAreRefusedNamingLineAndField(text: String, line: Int, field: String) throws {
        let error = try #require(Self.refusal { _ = try AgentConfigurationFile.parse(text, file: "g.toml", platform: Self.platform) })
        #expect(error.file == "g.toml" && error.line == line && error.field == field, "\(error)")
    }

    // MARK: --queue on the command line

    @Test(arguments: [("rate=1,work-ms=1e20,mean-ms=10", "work-ms"), ("rate=1,work-ms=1,scv=1e18,mean-ms=10", "scv"),
                      ("rate=1e300,work-ms=1,mean-ms=10", "rate"), ("rate=1,work-ms=1,p99-ms=1e300", "p99-ms"),
                      ("rate=1,work-ms=1,p99-ms=1e-300", "p99-ms"), ("rate=1,work-ms=1,mean-ms=10,cpus=0-65535", "cpus")])
    func outOfRangeQueueSpecsNameTheKey(spec: String, key: String) throws {
        let error = try #require(Self.refusal { _ = try QueueSpec.parse("name=web," + spec, platform: Self.platform) })
        #expect(error.field == key, "\(error)")
    }

    // MARK: Reading files

    @Test func aDirectoryIsReportedAsADirectory() throws {
        let error = try #require(Self.refusal { _ = try FileText.read(FileManager.default.temporaryDirectory.path) })
        #expect(error.message.contains("directory"), "\(error)")
    }

    @Test func aMissingFileIsReportedAsMissing() throws {
        let error = try #require(Self.refusal { _ = try FileText.read("/nonexistent/gearbox-\(getpid()).toml") })
        #expect(error.message.contains("no such file"), "\(error)")
    }

    /// /dev/zero never ends: the read stops after the limit instead of filling memory.
    @Test func aFileThatNeverEndsIsRefusedAfterTheLimit() throws {
        let error = try #require(Self.refusal { _ = try FileText.read("/dev/zero") })
        #expect(error.message.contains("larger"), "\(error)")
    }

    @Test func aFileJustOverFourMebibytesIsRefusedAndOneJustUnderIsRead() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gearbox-big-\(getpid()).toml")
        defer { try? FileManager.default.removeItem(at: url) }
        let fourMiB = 4 * 1024 * 1024
        try Data(repeating: UInt8(ascii: "#"), count: fourMiB).write(to: url)
        #expect(try FileText.read(url.path).utf8.count == fourMiB)
        try Data(repeating: UInt8(ascii: "#"), count: fourMiB + 1).write(to: url)
        let error = try #require(Self.refusal { _ = try FileText.read(url.path) })
        #expect(error.message.contains("larger"), "\(error)")
    }
}
