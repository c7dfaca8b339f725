import Foundation
import GearboxConfig
import GearboxCore
import Testing

/// What a fixture's domains must look like (written from the fixture's description in
/// Tests/Fixtures/generate.py, not from gearbox's output).
struct FixtureExpectation: CustomTestStringConvertible, Sendable {
    struct Domain: Sendable {
        var name: String
        var cpus: [Int]
        var frequencies: [Int]
        var hasTable: Bool
        var capacity: Int
        var latencyMicroseconds: Double?
        var control: String
    }
    var machine: String
    var driver: String
    var domains: [Domain]
    var offline: [Int] = []
    var epp: String? = nil
    var testDescription: String { machine }
}

/// 100 MHz steps strictly between the limits, plus both limits.
func steps(_ low: Int, _ high: Int) -> [Int] {
    [low] + Array(stride(from: (low / 100_000 + 1) * 100_000, to: high, by: 100_000)) + [high]
}

let acpiTable = [1_200_000, 1_400_000, 1_600_000, 1_800_000, 2_000_000, 2_200_000, 2_400_000, 2_600_000, 2_601_000]

let fixtureExpectations: [FixtureExpectation] = [
    FixtureExpectation(machine: "acpi-cpufreq-8cpu", driver: "acpi-cpufreq", domains: (0..<8).map {
        .init(name: "policy\($0)", cpus: [$0], frequencies: acpiTable, hasTable: true, capacity: 1024,
              latencyMicroseconds: 10, control: "userspace")
    }),
    FixtureExpectation(machine: "intel-pstate-hybrid", driver: "intel_pstate", domains: (0..<8).map {
        // E-cores: 1024 × 3.5 / 4.7 = 762.6 → 763.
        .init(name: "policy\($0)", cpus: [$0], frequencies: $0 < 4 ? steps(400_000, 4_700_000) : steps(400_000, 3_500_000),
              hasTable: false, capacity: $0 < 4 ? 1024 : 763, latencyMicroseconds: nil, control: "clamp")
    }, epp: "balance_performance"),
    FixtureExpectation(machine: "amd-pstate-epp", driver: "amd-pstate-epp", domains: (0..<8).map {
        // 1024 × 4.95 / 5.137 = 986.7 → 987.
        .init(name: "policy\($0)", cpus: [$0], frequencies: $0 < 4 ? steps(400_000, 5_137_000) : steps(400_000, 4_950_000),
              hasTable: false, capacity: $0 < 4 ? 1024 : 987, latencyMicroseconds: 20, control: "clamp")
    }, epp: "balance_performance"),
    FixtureExpectation(machine: "arm-big-little", driver: "cpufreq-dt", domains: [
        .init(name: "policy0", cpus: [0, 1, 2, 3], frequencies: [408_000, 600_000, 816_000, 1_008_000, 1_200_000, 1_416_000],
              hasTable: true, capacity: 485, latencyMicroseconds: 40, control: "userspace"),
        .init(name: "policy4", cpus: [4, 5],
              frequencies: [408_000, 600_000, 816_000, 1_008_000, 1_200_000, 1_416_000, 1_608_000, 1_800_000],
              hasTable: true, capacity: 1024, latencyMicroseconds: 40, control: "userspace"),
    ]),
    FixtureExpectation(machine: "arm-cppc-server", driver: "cppc_cpufreq", domains: (0..<8).map {
        .init(name: "policy\($0)", cpus: [$0], frequencies: Array(stride(from: 1_000_000, through: 3_000_000, by: 100_000)),
              hasTable: false, capacity: 1024, latencyMicroseconds: nil, control: "userspace")
    }),
    FixtureExpectation(machine: "offline-cpus", driver: "cpufreq-dt", domains: [
        .init(name: "policy0", cpus: [0, 1], frequencies: [500_000, 667_000, 1_000_000, 1_200_000, 1_398_000],
              hasTable: true, capacity: 446, latencyMicroseconds: 300, control: "userspace"),
    ], offline: [2, 3, 4, 5, 6, 7]),
]

@Suite("gearboxctl inspect on fixture trees (mount namespace)", .needsMountNamespace)
struct InspectFixtureTests {
    @Test("inspect --json gives the fixture's domains, CPUs, driver, frequencies and capacities",
          arguments: fixtureExpectations)
    func inspectJSON(expected: FixtureExpectation) throws {
        let tree = try FixtureTree(fixture: expected.machine)
        defer { tree.remove() }
        let result = try NamespaceRunner.run("gearboxctl", ["inspect", "--json"], cpuTree: tree.cpuRoot)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let inspected = try InspectJSON.decode(result.stdout)
        #expect(InspectJSON.latencyKeyPresent(result.stdout))
        #expect(inspected.domains.map(\.name) == expected.domains.map(\.name))
        #expect(inspected.offline_cpus == expected.offline)
        #expect(inspected.unusable.isEmpty)
        for (got, want) in zip(inspected.domains, expected.domains) {
            #expect(got.cpus == want.cpus, "\(want.name)")
            #expect(got.driver == expected.driver, "\(want.name)")
            #expect(got.frequencies_khz == want.frequencies, "\(want.name)")
            #expect(got.has_frequency_table == want.hasTable, "\(want.name)")
            #expect(got.min_khz == want.frequencies.first && got.max_khz == want.frequencies.last, "\(want.name)")
            #expect(got.capacity == want.capacity, "\(want.name)")
            #expect(got.transition_latency_us == want.latencyMicroseconds, "\(want.name)")
            #expect(got.control == want.control, "\(want.name)")
            #expect(got.energy_performance_preference == expected.epp, "\(want.name)")
            #expect(got.scaling_min_khz >= got.min_khz && got.scaling_max_khz <= got.max_khz, "\(want.name)")
        }
    }

    @Test("inspect --toml is a platform file that GearboxConfig reads back to the same domains",
          arguments: fixtureExpectations)
    func inspectTOML(expected: FixtureExpectation) throws {
        let tree = try FixtureTree(fixture: expected.machine)
        defer { tree.remove() }
        let result = try NamespaceRunner.run("gearboxctl", ["inspect", "--toml"], cpuTree: tree.cpuRoot)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let platform = try PlatformFile.parse(result.stdout, file: "inspect.toml")
        #expect(platform.domains.map(\.name) == expected.domains.map(\.name))
        for (got, want) in zip(platform.domains, expected.domains) {
            #expect(got.cpus == want.cpus)
            #expect(got.capacity == Double(want.capacity))
            #expect(got.operatingPoints.map(\.frequency.value) == want.frequencies)
            #expect(got.transitionLatencyMicroseconds == want.latencyMicroseconds)
            // Default model at fmax: capacity/1024 × (0.5 + 2.5) W, to the printed 4 decimals.
            let top = got.operatingPoints.last!.busyPower.value
            #expect(abs(top - 3.0 * Double(want.capacity) / 1024) < 2e-4)
            #expect(abs(got.idlePower.value - 0.1 * Double(want.capacity) / 1024) < 1e-4)
        }
    }

    @Test("inspect prints a table naming every domain, offline CPUs and energy counters")
    func inspectTable() throws {
        let tree = try FixtureTree(fixture: "offline-cpus")
        defer { tree.remove() }
        let classTree = try tree.addSibling(fixture: "powercap-rapl", named: "class")
        let result = try NamespaceRunner.run("gearboxctl", ["inspect"], cpuTree: tree.cpuRoot, classTree: classTree)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("DOMAIN") == true)
        #expect(lines.contains { $0.hasPrefix("policy0 ") && $0.contains("0-1") && $0.contains("cpufreq-dt") && $0.contains("446") })
        #expect(lines.contains("offline CPUs: 2-7"))
        #expect(lines.contains("energy counters: intel-rapl:0 (package-0), intel-rapl:0:0 (core), intel-rapl:0:1 (uncore)"))
    }

    @Test("inspect --json lists the RAPL zones under /sys/class/powercap")
    func energyCounters() throws {
        let tree = try FixtureTree(fixture: "arm-big-little")
        defer { tree.remove() }
        let classTree = try tree.addSibling(fixture: "powercap-rapl", named: "class")
        let result = try NamespaceRunner.run("gearboxctl", ["inspect", "--json"], cpuTree: tree.cpuRoot, classTree: classTree)
        let inspected = try InspectJSON.decode(result.stdout)
        #expect(inspected.energy_counters.map(\.zone) == ["intel-rapl:0", "intel-rapl:0:0", "intel-rapl:0:1"])
        #expect(inspected.energy_counters.map(\.name) == ["package-0", "core", "uncore"])
        #expect(inspected.energy_counters.first?.energy_uj == 82_113_450_331)
    }

    @Test("a host without cpufreq: exit 2 and one line naming the problem")
    func noCPUFreq() throws {
        let tree = try FixtureTree(fixture: "arm-big-little")
        defer { tree.remove() }
        // What a VM shows: CPUs, no cpufreq policies and no links.
        try FileManager.default.removeItem(at: tree.cpuRoot.appendingPathComponent("cpufreq"))
        for cpu in 0..<6 { try FileManager.default.removeItem(at: tree.cpuRoot.appendingPathComponent("cpu\(cpu)/cpufreq")) }
        for arguments in [["inspect"], ["inspect", "--json"], ["inspect", "--toml"]] {
            let result = try NamespaceRunner.run("gearboxctl", arguments, cpuTree: tree.cpuRoot)
            #expect(result.status == 2)
            #expect(result.stdout.isEmpty)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1)
            #expect(lines.first?.contains("no cpufreq on CPUs 0-5") == true, "\(result.stderr)")
        }
    }

    @Test("a policy file that is not a number makes that domain unusable, with the file named")
    func malformedPolicy() throws {
        let tree = try FixtureTree(fixture: "arm-big-little")
        defer { tree.remove() }
        try tree.write("garbage\n", to: "cpufreq/policy4/scaling_max_freq")
        let result = try NamespaceRunner.run("gearboxctl", ["inspect", "--json"], cpuTree: tree.cpuRoot)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let inspected = try InspectJSON.decode(result.stdout)
        #expect(inspected.domains.map(\.name) == ["policy0"])
        #expect(inspected.unusable.map(\.cpus) == [[4, 5]])
        #expect(inspected.unusable.first?.reason == "reading cpu4/cpufreq/scaling_max_freq: \"garbage\" is not a valid value")
    }
}
