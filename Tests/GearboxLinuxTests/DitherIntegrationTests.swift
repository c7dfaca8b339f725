import Foundation
import Testing

/// The share of time a lane spent at `high`, measured from the stores the dither made: from
/// each store of `high` to the next store of another value, over whole periods (second store
/// of `high` to the last one: the first period also saves the state file before its first
/// store, so it starts late by a few milliseconds).
func measuredShare(_ writes: [SysfsWrite], high: String) -> (share: Double, switches: Int)? {
    let starts = Array(writes.indices.filter { writes[$0].value == high }.dropFirst())
    guard let first = starts.first, let last = starts.last, last > first else { return nil }
    var atHigh: Int64 = 0
    for i in starts where i < last {
        guard i + 1 < writes.count else { break }
        atHigh += writes[i + 1].nanoseconds - writes[i].nanoseconds
    }
    return (Double(atHigh) / Double(writes[last].nanoseconds - writes[first].nanoseconds), starts.count)
}

@Suite("Time-share dither on fixture trees with libcpufreq (mount namespace)", .needsMountNamespace)
struct DitherIntegrationTests {
    @Test("two domains on one timer: each one's measured time at H is within 2 % of θ; writes only on change")
    func measuredTimeShare() throws {
        let tree = try FixtureTree(fixture: "acpi-cpufreq-8cpu")
        defer { tree.remove() }
        let before = try tree.contents()
        let log = tree.directory.appendingPathComponent("writes.log")
        let stop = tree.directory.appendingPathComponent("stop")
        // policy0: θ = 0.3 of 50 ms; policy1: θ = 0.7 of 20 ms; run until each has made 120
        // whole periods at least (6 s on an idle machine: one stall of a loaded machine is
        // repaid by the timer, but shows in the last interval; a longer run dilutes it).
        let lanes = [(cpu: 0, theta: 0.3, high: "2400000", low: "1200000", period: 0.050),
                     (cpu: 1, theta: 0.7, high: "2600000", low: "1400000", period: 0.020)]
        let periodsWanted = 120
        func periodsSoFar() -> [Int] {
            let writes = SysfsWrite.read(log)
            return lanes.map { lane in
                measuredShare(writes.filter { $0.path == "cpu\(lane.cpu)/cpufreq/scaling_setspeed" }, high: lane.high)?.switches ?? 0
            }
        }
        var enough = false
        let result = try NamespaceRunner.probe(
            ["dither until:\(stop.path) policy0:1200000:2400000:0.3:50 policy1:1400000:2600000:0.7:20", "restore"],
            tree: tree, state: tree.directory.appendingPathComponent("state.json"),
            environment: ["GEARBOX_SYSFS_WRITE_LOG": log.path], realtime: true
        ) { _, _ in
            enough = waitUntil(timeout: .seconds(300)) { periodsSoFar().allSatisfy { $0 > periodsWanted } }
            _ = FileManager.default.createFile(atPath: stop.path, contents: nil)
        }
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(enough, "periods after 300 s: \(periodsSoFar())")
        let writes = SysfsWrite.read(log)
        for (cpu, theta, high, low, period) in lanes {
            let speeds = writes.filter { $0.path == "cpu\(cpu)/cpufreq/scaling_setspeed" }
            let values = speeds.map(\.value)
            #expect(Set(values) == [high, low])
            // Writes only on change: consecutive stores always differ.
            #expect(zip(values, values.dropFirst()).allSatisfy { $0 != $1 })
            guard let (share, periods) = measuredShare(speeds, high: high) else {
                Issue.record("no dither writes for cpu\(cpu)")
                continue
            }
            print("cpu\(cpu): θ = \(theta), measured \(share) over \(periods) periods of \(period * 1000) ms")
            #expect(abs(share - theta) <= 0.02 * theta, "cpu\(cpu): measured \(share), θ \(theta)")
            #expect(periods > periodsWanted)
        }
        // The governor went to userspace once per domain; restore put everything back.
        #expect(writes.filter { $0.path.hasSuffix("scaling_governor") && $0.value == "userspace" }.count == 2)
        #expect(changedFiles(before, try tree.contents()).isEmpty)
    }

    @Test("clamping drivers dither too: min and max move in an order that keeps min ≤ max")
    func clampDither() throws {
        let tree = try FixtureTree(fixture: "intel-pstate-hybrid")
        defer { tree.remove() }
        let before = try tree.contents()
        let log = tree.directory.appendingPathComponent("writes.log")
        let stop = tree.directory.appendingPathComponent("stop")
        // Until 40 stores were made (a second on an idle machine).
        let result = try NamespaceRunner.probe(
            ["dither until:\(stop.path) policy4:800000:3000000:0.5:20", "restore"],
            tree: tree, state: tree.directory.appendingPathComponent("state.json"),
            environment: ["GEARBOX_SYSFS_WRITE_LOG": log.path]
        ) { _, _ in
            _ = waitUntil(timeout: .seconds(300)) { SysfsWrite.read(log).count >= 40 }
            _ = FileManager.default.createFile(atPath: stop.path, contents: nil)
        }
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let writes = SysfsWrite.read(log)
        #expect(writes.count >= 40)
        try expectLimitsOrdered(writes: writes, tree: before)
        #expect(changedFiles(before, try tree.contents()).isEmpty)
    }

    @Test("LinuxHost as the agent uses it: recovers a killed run, dithers a plan, samples /proc/stat, restores")
    func linuxHost() throws {
        let tree = try FixtureTree(fixture: "arm-big-little")
        defer { tree.remove() }
        let before = try tree.contents()
        let state = tree.directory.appendingPathComponent("state.json")
        _ = try NamespaceRunner.probe(["set policy0=600000", "hold"], tree: tree, state: state) { process, stdout in
            try waitForLine("holding", in: stdout)
            kill(process.processIdentifier, SIGKILL)
        }
        let log = tree.directory.appendingPathComponent("writes.log")
        let stop = tree.directory.appendingPathComponent("stop")
        func cpu0Speeds() -> [String] {
            SysfsWrite.read(log).filter { $0.path == "cpu0/cpufreq/scaling_setspeed" }.map(\.value)
        }
        // Until 40 dither stores were made on policy0 (a second on an idle machine).
        let result = try NamespaceRunner.probe(["host until:\(stop.path) policy0:408000:1416000:0.25:20 policy4:1800000:1800000:1:0"],
                                               tree: tree, state: state, environment: ["GEARBOX_SYSFS_WRITE_LOG": log.path]) { _, _ in
            _ = waitUntil(timeout: .seconds(300)) { cpu0Speeds().count >= 40 }
            _ = FileManager.default.createFile(atPath: stop.path, contents: nil)
        }
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.hasPrefix("host recovery=restored(domains: [\"policy0\", \"policy4\"])"), "\(result.stdout)")
        #expect(result.stdout.contains(" set=policy0,policy4 held=\n"))
        let cpus = try String(contentsOfFile: "/proc/stat", encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix("cpu") && !$0.hasPrefix("cpu ") }.count
        #expect(result.stdout.contains("cpus=\(cpus),\(cpus)"), "\(result.stdout)")
        let speeds = cpu0Speeds()
        #expect(speeds.count >= 40 && Set(speeds) == ["408000", "1416000"])
        #expect(changedFiles(before, try tree.contents()).isEmpty)
    }
}
