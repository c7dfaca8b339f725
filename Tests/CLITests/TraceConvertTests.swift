import Foundation
import Testing

/// `scripts/trace-convert` on excerpts written in the layout of the real traces
/// (Tests/Fixtures/traces), checked against values worked out by hand from those rows, and
/// its output replayed by `gearboxctl simulate --trace`.
private let python = "/usr/bin/python3"

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: python), "/usr/bin/python3 is not installed"))
struct TraceConvertTests {
    static let script = BuiltTool.repositoryRoot.appendingPathComponent("scripts/trace-convert").path
    static func fixture(_ name: String) -> String {
        BuiltTool.repositoryRoot.appendingPathComponent("Tests/Fixtures/traces/\(name)").path
    }

    static func convert(_ arguments: [String]) throws -> BuiltTool.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return BuiltTool.Result(status: process.terminationStatus,
                                stdout: String(decoding: stdout, as: UTF8.self),
                                stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// The data rows (time, work ms) and the `# key = value` comments of the output.
    static func rows(_ text: String) -> (rows: [(Double, Double)], comments: [String: String]) {
        var rows: [(Double, Double)] = [], comments: [String: String] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# ") {
                for part in line.dropFirst(2).split(separator: ",") {
                    let kv = part.split(separator: "=", maxSplits: 1)
                    if kv.count == 2 {
                        comments[kv[0].trimmingCharacters(in: .whitespaces)] = kv[1].trimmingCharacters(in: .whitespaces)
                    }
                }
                continue
            }
            let fields = line.split(separator: ",")
            guard let t = Double(fields[0]), let w = Double(fields[1]) else { continue }
            rows.append((t, w))
        }
        return (rows, comments)
    }

    /// Azure: times from the first row over the time scale (across midnight too), work in
    /// proportion to input + 5 × output tokens with the requested mean.
    @Test func azureTimesAndTokenModel() throws {
        let r = try Self.convert(["--mean-work-ms", "10", "--time-scale", "10", Self.fixture("azure-llm-excerpt.csv")])
        #expect(r.status == 0, "\(r.stderr)")
        let (rows, comments) = Self.rows(r.stdout)
        // 18:15:46.68059 is the origin; the 5th row is 5 h 44 min 12.81941 s later, the 6th 1 s after it.
        let times = [0, 4.314579, 4.31941, 20, 20_652.81941, 20_653.81941].map { $0 / 10 }
        let weights: [Double] = [374 + 5 * 44, 396 + 5 * 109, 1000, 2000 + 5 * 200, 100 + 5 * 20, 300 + 5 * 40]
        let perWeight = 10 * 6 / weights.reduce(0, +)
        #expect(rows.count == 6)
        for (row, (t, w)) in zip(rows, zip(times, weights)) {
            #expect(abs(row.0 - t) < 1e-6)
            #expect(abs(row.1 - w * perWeight) < 1e-5)
        }
        #expect(comments["mean_work_ms"] == "10")
        #expect(comments["rows"] == "6")
    }

    /// Mooncake: equal timestamps spread over the gap to the next one (the last run kept),
    /// work scaled to a quarter of the phone's four little CPUs (4 × 381 / 1024).
    @Test func mooncakeTiesAndLoad() throws {
        let r = try Self.convert(["--queue", "background", "--load", "0.25", "--platform", BuiltTool.example("phone-rk3399.toml"),
                                  "--cpus", "0-3", Self.fixture("mooncake-excerpt.csv")])
        #expect(r.status == 0, "\(r.stderr)")
        let (rows, _) = Self.rows(r.stdout)
        #expect(rows.map(\.0) == [0, 1, 2, 3, 6, 6])
        let capacity = 4 * 381.0 / 1024, span = 6.0
        let totalWork = rows.reduce(0) { $0 + $1.1 } / 1000
        #expect(abs(totalWork / span - 0.25 * capacity) < 1e-6)
        // 6758 + 5 × 500 against 800 + 5 × 0.
        #expect(abs(rows[0].1 / rows[4].1 - 9258.0 / 800) < 1e-6)
        #expect(r.stdout.contains("time_s,work_ms,queue\n0.0000000,"))

        let kept = try Self.convert(["--keep-ties", "--load", "1", "--capacity", "1", Self.fixture("mooncake-excerpt.csv")])
        #expect(Self.rows(kept.stdout).rows.map(\.0) == [0, 0, 0, 3, 6, 6])
    }

    /// Bad input: one line naming file, line and field, exit status 2, nothing on stdout.
    @Test(arguments: [
        ("timestamp_ms,input_length,output_length\n5,1,1\n3,1,1\n", ":3: timestamp_ms: earlier"),
        ("timestamp_ms,input_length,output_length\n5,-1,1\n", ":2: input_length: -1 is outside"),
        ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 25:00:00,1,1\n", ":2: TIMESTAMP:"),
        ("time,tokens\n1,2\n", ":1: header names neither"),
    ])
    func badTraceIsRefused(text: String, message: String) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(UUID().uuidString).csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try Self.convert(["--load", "0.5", "--capacity", "1", path])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains(path + message), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    /// gearboxctl replays the converted trace: every row inside the measured run arrives.
    @Test func gearboxctlReplaysTheOutput() throws {
        let r = try Self.convert(["--queue", "background", "--time-scale", "0.5", "--mean-work-ms", "5", Self.fixture("mooncake-excerpt.csv")])
        #expect(r.status == 0, "\(r.stderr)")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("converted-\(UUID().uuidString).csv").path
        try r.stdout.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Times double (0, 2, 4, 6, 12, 12 s); after a 1 s warm-up, a 20 s run counts the last five.
        let s = try BuiltTool.run("gearboxctl", [
            "simulate", "--platform", BuiltTool.example("phone-rk3399.toml"),
            "--workload", BuiltTool.example("phone-rk3399-low.toml"), "--policy", "performance",
            "--duration", "20", "--warm-up", "1", "--trace", path, "--json",
        ])
        #expect(s.status == 0 || s.status == 1, "\(s.stderr)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as? [String: Any])
        let queues = try #require(object["queues"] as? [[String: Any]])
        let background = try #require(queues.first { $0["name"] as? String == "background" })
        #expect(background["arrived"] as? Int == 5)
    }
}
