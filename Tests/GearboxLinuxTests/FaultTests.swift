import Foundation
import Testing

/// Warnings the probe logged about a cpufreq fault.
func faultLogs(_ result: NamespaceRunner.Result) -> [[String: Any]] {
    result.logLines.filter { ($0["level"] as? String) == "warning" && ($0["message"] as? String)?.hasPrefix("cpufreq write failed") == true }
}

func metadata(_ line: [String: Any]) -> [String: String] {
    (line["metadata"] as? [String: String]) ?? [:]
}

@Suite("Faults while applying: logged once, domain kept at its last good setting (mount namespace)",
       .needsMountNamespace)
struct FaultTests {
    @Test("EACCES on scaling_setspeed: logged once with CPU and file, other domains still set, restore still works")
    func refusedWrite() throws {
        let tree = try FixtureTree(fixture: "acpi-cpufreq-8cpu")
        defer { tree.remove() }
        let setspeed = tree.cpuRoot.appendingPathComponent("cpufreq/policy0/scaling_setspeed")
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: setspeed.path)
        let before = try tree.contents()
        let result = try NamespaceRunner.probe(
            ["set policy0=1400000 policy1=1400000", "set policy0=1600000 policy1=1600000", "set policy0=1800000", "restore"],
            tree: tree, state: tree.directory.appendingPathComponent("state.json"))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("set failed=policy0\nset failed=policy0\nset failed=policy0\nrestore failed=\n"))
        let faults = faultLogs(result)
        #expect(faults.count == 1, "\(result.stderr)")
        let fields = faults.first.map(metadata) ?? [:]
        #expect(fields["cpu.id"] == "0" && fields["cpufreq.file"] == "scaling_setspeed" && fields["cpufreq.fault"] == "EACCES")
        #expect(fields["cpufreq.domain"] == "policy0" && fields["cpufreq.value"] == "1400000")
        #expect(changedFiles(before, try tree.contents()).isEmpty)
    }

    @Test("EBUSY on scaling_max_freq halfway through a clamp: the min write is undone")
    func busyHalfway() throws {
        let tree = try FixtureTree(fixture: "intel-pstate-hybrid")
        defer { tree.remove() }
        let before = try tree.contents()
        let log = tree.directory.appendingPathComponent("writes.log")
        let result = try NamespaceRunner.probe(
            ["set policy1=1800000 policy2=2000000", "set policy1=1900000 policy2=2000000"],
            tree: tree, state: tree.directory.appendingPathComponent("state.json"),
            environment: ["GEARBOX_SYSFS_WRITE_LOG": log.path, "GEARBOX_SYSFS_FAIL": "cpu1/cpufreq/scaling_max_freq=EBUSY"])
        #expect(result.status == 0)
        let faults = faultLogs(result)
        #expect(faults.count == 1, "\(result.stderr)")
        #expect(faults.first.map(metadata)?["cpufreq.fault"] == "EBUSY")
        #expect(faults.first.map(metadata)?["cpufreq.file"] == "scaling_max_freq")
        // policy1 is back at its original limits; policy2 got its clamp.
        let changes = changedFiles(before, try tree.contents())
        #expect(Set(changes.keys) == ["cpufreq/policy2/scaling_min_freq", "cpufreq/policy2/scaling_max_freq"])
        let policy1 = SysfsWrite.read(log).filter { $0.path.hasPrefix("cpu1/") }.map { "\($0.path)=\($0.value)" }
        #expect(policy1 == [
            "cpu1/cpufreq/scaling_min_freq=1800000", "cpu1/cpufreq/scaling_min_freq=400000",
            "cpu1/cpufreq/scaling_min_freq=1900000", "cpu1/cpufreq/scaling_min_freq=400000",
        ])
    }

    @Test("EINVAL on scaling_governor: nothing is written to that domain")
    func invalidGovernor() throws {
        let tree = try FixtureTree(fixture: "arm-big-little")
        defer { tree.remove() }
        let before = try tree.contents()
        let result = try NamespaceRunner.probe(
            ["set policy0=600000 policy4=1200000"], tree: tree, state: tree.directory.appendingPathComponent("state.json"),
            environment: ["GEARBOX_SYSFS_FAIL": "cpu0/cpufreq/scaling_governor=EINVAL"])
        #expect(result.stdout.contains("set failed=policy0\n"))
        #expect(faultLogs(result).map { metadata($0)["cpufreq.fault"] } == ["EINVAL"])
        #expect(Set(changedFiles(before, try tree.contents()).keys)
                == ["cpufreq/policy4/scaling_governor", "cpufreq/policy4/scaling_setspeed"])
    }

    @Test("the CPU written through goes offline and its link vanishes: writes move to another CPU of the policy")
    func cpuOfflineBetweenReads() throws {
        let tree = try FixtureTree(fixture: "arm-big-little")
        defer { tree.remove() }
        let result = try NamespaceRunner.probe(
            ["inventory", "set policy4=1416000",
             "sh rm /sys/devices/system/cpu/cpu4/cpufreq && echo 0 > /sys/devices/system/cpu/cpu4/online",
             "set policy4=1800000", "set policy4=1608000"],
            tree: tree, state: tree.directory.appendingPathComponent("state.json"))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.hasSuffix("set failed=\nset failed=\nset failed=\n"))
        let faults = faultLogs(result)
        #expect(faults.count == 1)
        let fields = faults.first.map(metadata) ?? [:]
        #expect(fields["cpu.id"] == "4" && fields["cpu.next"] == "5" && fields["cpufreq.fault"] == "offline")
        let setspeed = try String(contentsOf: tree.cpuRoot.appendingPathComponent("cpufreq/policy4/scaling_setspeed"), encoding: .utf8)
        #expect(setspeed == "1608000\n")
    }

    @Test("a file vanishes and every CPU of the policy is gone: logged once, domain held, others go on")
    func vanishedFile() throws {
        let tree = try FixtureTree(fixture: "acpi-cpufreq-8cpu")
        defer { tree.remove() }
        let result = try NamespaceRunner.probe(
            ["inventory", "sh rm /sys/devices/system/cpu/cpufreq/policy2/scaling_setspeed",
             "set policy2=1400000 policy3=1400000", "set policy2=1600000 policy3=1600000"],
            tree: tree, state: tree.directory.appendingPathComponent("state.json"))
        #expect(result.status == 0)
        #expect(result.stdout.hasSuffix("set failed=policy2\nset failed=policy2\n"))
        #expect(faultLogs(result).map { metadata($0)["cpufreq.fault"] } == ["missing"])
        let policy3 = try String(contentsOf: tree.cpuRoot.appendingPathComponent("cpufreq/policy3/scaling_setspeed"), encoding: .utf8)
        #expect(policy3 == "1600000\n")
    }

    @Test("a limit that stops being a number before the first write: that domain is not touched, no crash")
    func notANumber() throws {
        let tree = try FixtureTree(fixture: "arm-big-little")
        defer { tree.remove() }
        let result = try NamespaceRunner.probe(
            ["inventory", "sh echo garbage > /sys/devices/system/cpu/cpufreq/policy4/scaling_max_freq",
             "set policy0=600000 policy4=1416000", "restore"],
            tree: tree, state: tree.directory.appendingPathComponent("state.json"))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("set failed=policy4\nrestore failed=\n"))
        let warning = result.logLines.first { ($0["message"] as? String)?.contains("policy4's policy") == true }
        #expect((warning?["message"] as? String)?.contains("cpu4/cpufreq/scaling_max_freq: \"garbage\" is not a valid value") == true)
        let governor4 = try String(contentsOf: tree.cpuRoot.appendingPathComponent("cpufreq/policy4/scaling_governor"), encoding: .utf8)
        #expect(governor4 == "schedutil\n")
    }
}
