import Foundation
import Testing

/// A plan applied to a fixture and the files it must change (policy directory → file → value).
struct ApplyCase: CustomTestStringConvertible, Sendable {
    var machine: String
    var steps: [String]
    var expected: [String: String]
    /// The stores in order (`cpuN/file=value`), where the order matters.
    var writes: [String]? = nil
    var testDescription: String { machine }
}

let applyCases: [ApplyCase] = [
    // Userspace governor available: governor, then setspeed; min and max untouched.
    ApplyCase(machine: "acpi-cpufreq-8cpu", steps: ["set policy0=1400000 policy5=2601000"], expected: [
        "cpufreq/policy0/scaling_governor": "userspace\n", "cpufreq/policy0/scaling_setspeed": "1400000\n",
        "cpufreq/policy5/scaling_governor": "userspace\n", "cpufreq/policy5/scaling_setspeed": "2601000\n",
    ]),
    // No userspace: clamp. policy6 is already at max 3500000, so only its min moves; policy1
    // goes down (min first) then back up to its original max (max first).
    ApplyCase(machine: "intel-pstate-hybrid", steps: ["set policy1=1800000 policy6=3500000", "set policy1=4700000"], expected: [
        "cpufreq/policy1/scaling_min_freq": "4700000\n", "cpufreq/policy6/scaling_min_freq": "3500000\n",
    ], writes: [
        "cpu1/scaling_min_freq=1800000", "cpu1/scaling_max_freq=1800000", "cpu6/scaling_min_freq=3500000",
        "cpu1/scaling_max_freq=4700000", "cpu1/scaling_min_freq=4700000",
    ]),
    // Below the current scaling_min: min must go down first.
    ApplyCase(machine: "amd-pstate-epp", steps: ["set policy0=1000000", "set policy0=5137000", "set policy0=700000"], expected: [
        "cpufreq/policy0/scaling_min_freq": "700000\n", "cpufreq/policy0/scaling_max_freq": "700000\n",
    ], writes: [
        "cpu0/scaling_min_freq=1000000", "cpu0/scaling_max_freq=1000000",
        "cpu0/scaling_max_freq=5137000", "cpu0/scaling_min_freq=5137000",
        "cpu0/scaling_min_freq=700000", "cpu0/scaling_max_freq=700000",
    ]),
    ApplyCase(machine: "arm-big-little", steps: ["set policy0=1008000 policy4=1800000"], expected: [
        "cpufreq/policy0/scaling_governor": "userspace\n", "cpufreq/policy0/scaling_setspeed": "1008000\n",
        "cpufreq/policy4/scaling_governor": "userspace\n", "cpufreq/policy4/scaling_setspeed": "1800000\n",
    ]),
    // No table, but userspace is offered: setspeed takes any frequency in the limits.
    ApplyCase(machine: "arm-cppc-server", steps: ["set policy2=1500000"], expected: [
        "cpufreq/policy2/scaling_governor": "userspace\n", "cpufreq/policy2/scaling_setspeed": "1500000\n",
    ]),
    ApplyCase(machine: "offline-cpus", steps: ["set policy0=667000"], expected: [
        "cpufreq/policy0/scaling_governor": "userspace\n", "cpufreq/policy0/scaling_setspeed": "667000\n",
    ]),
]

@Suite("Applying plans to fixture trees with libcpufreq (mount namespace)", .needsMountNamespace)
struct ApplyRestoreTests {
    @Test("a plan writes exactly the expected files and values, nothing else; min ≤ max throughout",
          arguments: applyCases)
    func applyWritesExactly(example: ApplyCase) throws {
        let tree = try FixtureTree(fixture: example.machine)
        defer { tree.remove() }
        let before = try tree.contents()
        let log = tree.directory.appendingPathComponent("writes.log")
        let result = try NamespaceRunner.probe(example.steps, tree: tree, state: tree.directory.appendingPathComponent("state.json"),
                                               environment: ["GEARBOX_SYSFS_WRITE_LOG": log.path])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.split(separator: "\n").allSatisfy { !$0.hasPrefix("set") || $0 == "set failed=" })
        let changes = changedFiles(before, try tree.contents())
        #expect(Set(changes.keys) == Set(example.expected.keys))
        for (path, value) in example.expected { #expect(changes[path]?.1 == value, "\(path)") }
        let writes = SysfsWrite.read(log)
        try expectLimitsOrdered(writes: writes, tree: before)
        if let order = example.writes {
            #expect(writes.map { $0.path.replacingOccurrences(of: "/cpufreq/", with: "/") + "=" + $0.value } == order)
        }
    }

    @Test("restore in the same run brings every file back byte for byte", arguments: applyCases)
    func restoreBringsBack(example: ApplyCase) throws {
        let tree = try FixtureTree(fixture: example.machine)
        defer { tree.remove() }
        let before = try tree.contents()
        let state = tree.directory.appendingPathComponent("state.json")
        let log = tree.directory.appendingPathComponent("writes.log")
        let result = try NamespaceRunner.probe(example.steps + ["restore"], tree: tree, state: state,
                                               environment: ["GEARBOX_SYSFS_WRITE_LOG": log.path])
        #expect(result.stdout.contains("restore failed=\n"), "stdout: \(result.stdout) stderr: \(result.stderr)")
        #expect(changedFiles(before, try tree.contents()).isEmpty)
        try expectLimitsOrdered(writes: SysfsWrite.read(log), tree: before)
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: state)) as? [String: Any]
        #expect(saved?["clean"] as? Bool == true)
    }

    @Test("a killed run is restored byte for byte at the next start", arguments: applyCases)
    func killedRunRecovered(example: ApplyCase) throws {
        let tree = try FixtureTree(fixture: example.machine)
        defer { tree.remove() }
        let before = try tree.contents()
        let state = tree.directory.appendingPathComponent("state.json")
        let killed = try NamespaceRunner.probe(example.steps + ["hold"], tree: tree, state: state) { process, stdout in
            try waitForLine("holding", in: stdout)
            kill(process.processIdentifier, SIGKILL)
        }
        #expect(killed.killedBySignal && killed.status == SIGKILL)
        #expect(!changedFiles(before, try tree.contents()).isEmpty)
        let unclean = try JSONSerialization.jsonObject(with: Data(contentsOf: state)) as? [String: Any]
        #expect(unclean?["clean"] as? Bool == false)

        let next = try NamespaceRunner.probe(["recover"], tree: tree, state: state)
        #expect(next.stdout.hasPrefix("recover restored("), "stdout: \(next.stdout) stderr: \(next.stderr)")
        #expect(changedFiles(before, try tree.contents()).isEmpty)
        #expect(next.logLines.contains { ($0["message"] as? String)?.contains("did not stop cleanly") == true })
        let again = try NamespaceRunner.probe(["recover"], tree: tree, state: state)
        #expect(again.stdout == "recover nothingToRestore\n")
    }

    @Test("a new run after a killed one restores the originals before saving its own snapshot")
    func newRunAfterKill() throws {
        let tree = try FixtureTree(fixture: "intel-pstate-hybrid")
        defer { tree.remove() }
        let before = try tree.contents()
        let state = tree.directory.appendingPathComponent("state.json")
        _ = try NamespaceRunner.probe(["set policy0=800000", "hold"], tree: tree, state: state) { process, stdout in
            try waitForLine("holding", in: stdout)
            kill(process.processIdentifier, SIGKILL)
        }
        let next = try NamespaceRunner.probe(["set policy3=1200000", "restore"], tree: tree, state: state)
        #expect(next.stdout.contains("restore failed=\n"), "stderr: \(next.stderr)")
        #expect(changedFiles(before, try tree.contents()).isEmpty)
    }

    @Test("dry run: writes are logged, the tree and the state file are untouched")
    func dryRun() throws {
        let tree = try FixtureTree(fixture: "arm-big-little")
        defer { tree.remove() }
        let before = try tree.contents()
        let state = tree.directory.appendingPathComponent("state.json")
        let result = try NamespaceRunner.probe(["set policy0=600000 policy4=1416000", "restore"], tree: tree, state: state,
                                               extra: ["--dry-run"])
        #expect(result.status == 0)
        #expect(changedFiles(before, try tree.contents()).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: state.path))
        let writes = result.logLines.compactMap { $0["message"] as? String }.filter { $0.hasPrefix("dry run: would write") }
        #expect(writes == [
            "dry run: would write userspace to cpu0/cpufreq/scaling_governor",
            "dry run: would write 600000 to cpu0/cpufreq/scaling_setspeed",
            "dry run: would write userspace to cpu4/cpufreq/scaling_governor",
            "dry run: would write 1416000 to cpu4/cpufreq/scaling_setspeed",
        ])
    }
}

/// Replays the writes to scaling_min_freq/scaling_max_freq from the tree's starting values
/// and checks min ≤ max after every one.
func expectLimitsOrdered(writes: [SysfsWrite], tree: [String: String]) throws {
    var limits: [String: (min: Int, max: Int)] = [:]
    for write in writes {
        let parts = write.path.split(separator: "/")
        guard parts.count == 3, let link = tree["\(parts[0])/cpufreq"], link.hasPrefix("-> ../cpufreq/") else { continue }
        let policy = String(link.dropFirst("-> ../".count))
        let file = String(parts[2])
        guard file == "scaling_min_freq" || file == "scaling_max_freq", let value = Int(write.value) else { continue }
        var current = limits[policy] ?? (Int(tree["\(policy)/scaling_min_freq"]!.trimmingCharacters(in: .whitespacesAndNewlines))!,
                                         Int(tree["\(policy)/scaling_max_freq"]!.trimmingCharacters(in: .whitespacesAndNewlines))!)
        if file == "scaling_min_freq" { current.min = value } else { current.max = value }
        #expect(current.min <= current.max, "after writing \(value) to \(write.path): min \(current.min) > max \(current.max)")
        limits[policy] = current
    }
}

/// Reads from `handle` until a line equal to `line` arrives (or end of output).
func waitForLine(_ line: String, in handle: FileHandle, timeout: TimeInterval = 30) throws {
    var buffer = ""
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let data = handle.availableData
        if data.isEmpty { return }
        buffer += String(decoding: data, as: UTF8.self)
        if buffer.split(separator: "\n").contains(where: { $0 == line }) { return }
    }
}
