import Foundation
import GearboxTestSupport
import Testing

/// `gearboxd --dry-run` on a host without cpufreq (a VM, a container): a tree with CPUs but no
/// cpufreq directory is mounted over /sys/devices/system/cpu, and the agent plans from a
/// platform file instead.
@Suite(.serialized, .needsMountNamespace) struct PlatformFileDryRunTests {
    /// What this machine's sysfs looks like in a VM: two CPUs, online, without cpufreq.
    static func treeWithoutCPUFreq(in directory: TemporaryDirectory) throws -> URL {
        let root = URL(fileURLWithPath: directory.file("cpu"))
        for cpu in 0...1 {
            try FileManager.default.createDirectory(at: root.appendingPathComponent("cpu\(cpu)"), withIntermediateDirectories: true)
        }
        try "0-1\n".write(to: root.appendingPathComponent("present"), atomically: true, encoding: .utf8)
        try "0-1\n".write(to: root.appendingPathComponent("online"), atomically: true, encoding: .utf8)
        return root
    }

    static func config(in directory: TemporaryDirectory, platformFile: String? = nil) throws -> String {
        let path = directory.file("gearbox.toml")
        var text = """
            [agent]
            state_directory = "\(directory.file("state"))"
            plan_file = "\(directory.file("state"))/plan.json"

            """
        if let platformFile { text += "platform_file = \"\(platformFile)\"\n" }
        text += "[control]\nsocket = \"\(directory.file("state"))/control.sock\"\ngroup = \"\"\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let serverPlatform = FixtureTree.repositoryRoot.appendingPathComponent("configs/examples/server-8cpu.toml").path
    /// The frequencies every domain of server-8cpu.toml lists, in kHz.
    static let serverFrequencies: Set<String> = ["1200000", "1400000", "1600000", "1800000", "2000000", "2200000", "2400000", "2600000", "2700000"]

    /// `would write V to cpuN/cpufreq/FILE` lines of a dry run, as (cpu, file, value).
    static func wouldWrite(_ stderr: String) -> [(cpu: Int, file: String, value: String)] {
        let pattern = try! NSRegularExpression(pattern: #"would write (\S+) to cpu(\d+)/cpufreq/(\w+)"#)
        return pattern.matches(in: stderr, range: NSRange(stderr.startIndex..., in: stderr)).compactMap { match in
            func group(_ i: Int) -> String { String(stderr[Range(match.range(at: i), in: stderr)!]) }
            guard let cpu = Int(group(2)) else { return nil }
            return (cpu, group(3), group(1))
        }
    }

    @Test(arguments: [true, false])
    func dryRunPlansFromThePlatformFileAndLogsEveryDomainsWrite(givenOnCommandLine: Bool) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tree = try Self.treeWithoutCPUFreq(in: directory)
        let config = try Self.config(in: directory, platformFile: givenOnCommandLine ? nil : Self.serverPlatform)
        let platformArguments = givenOnCommandLine ? ["--platform", Self.serverPlatform] : []
        let result = try await blocking {
            try NamespaceRunner.run(
                "gearboxd", ["--config", config, "--dry-run", "--once", "--log-to", "stderr"] + platformArguments, cpuTree: tree)
        }
        #expect(result.status == 0, "\(result.stderr)")
        // The file has eight one-CPU domains, none with the userspace governor here: each is
        // clamped from the file's limits [1.2, 2.7] GHz to one of its frequencies, which takes
        // a scaling_min_freq or a scaling_max_freq write (or both) on the domain's CPU.
        let writes = Self.wouldWrite(result.stderr)
        for cpu in 0...7 {
            let limits = writes.filter { $0.cpu == cpu && ($0.file == "scaling_max_freq" || $0.file == "scaling_min_freq") }
            #expect(!limits.isEmpty, "no limit written for cpu\(cpu): \(result.stderr)")
            #expect(limits.allSatisfy { Self.serverFrequencies.contains($0.value) }, "\(limits)")
        }
        // CPUs of the file missing from this host's /proc/stat are idle: said once, and planned
        // at the lowest frequency (no demand), which only lowers scaling_max_freq.
        let cpusHere = try String(contentsOfFile: "/proc/stat", encoding: .utf8)
            .split(separator: "\n").filter { $0.hasPrefix("cpu") && !$0.hasPrefix("cpu ") }.count
        let idleNotes = result.stderr.components(separatedBy: "treated as idle").count - 1
        #expect(idleNotes == (cpusHere < 8 ? 1 : 0), "\(result.stderr)")
        for cpu in min(cpusHere, 8)..<8 {
            let idle = writes.filter { $0.cpu == cpu }
            #expect(idle.map(\.file) == ["scaling_max_freq"] && idle.map(\.value) == ["1200000"], "cpu\(cpu): \(idle)")
        }
        #expect(FileManager.default.fileExists(atPath: directory.file("state/plan.json")))
    }

    @Test func withoutDryRunTheAgentRefusesWithOneLine() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tree = try Self.treeWithoutCPUFreq(in: directory)
        let config = try Self.config(in: directory)
        let result = try NamespaceRunner.run(
            "gearboxd", ["--config", config, "--once", "--platform", Self.serverPlatform, "--log-to", "stderr"], cpuTree: tree)
        #expect(result.status == 2)
        #expect(result.stderr.contains("no cpufreq on CPUs 0-1"), "\(result.stderr)")
        #expect(result.stderr.contains("cannot govern this host"), "\(result.stderr)")
        #expect(Self.wouldWrite(result.stderr).isEmpty)
    }

    @Test func dryRunWithoutAPlatformFileSaysWhatItNeeds() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tree = try Self.treeWithoutCPUFreq(in: directory)
        let config = try Self.config(in: directory)
        let result = try NamespaceRunner.run(
            "gearboxd", ["--config", config, "--dry-run", "--once", "--log-to", "stderr"], cpuTree: tree)
        #expect(result.status == 2)
        #expect(result.stderr.contains("needs a platform file: --platform FILE or platform_file in \(config)"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}
