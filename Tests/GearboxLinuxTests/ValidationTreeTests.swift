import Foundation
import GearboxCore
import Testing

/// A domain read straight from a sysfs tree's files, without libcpufreq or GearboxLinux: the
/// independent answer `gearboxctl inspect` must agree with.
struct OracleDomain: Equatable {
    var cpus: [Int]
    var driver: String
    var frequencies: [Int]
    var hasTable: Bool
    var capacity: Int
}

enum SysfsOracle {
    static func text(_ url: URL) -> String? {
        (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func domains(in root: URL) -> (domains: [OracleDomain], offline: [Int]) {
        let cpus = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [])
            .compactMap { $0.hasPrefix("cpu") ? Int($0.dropFirst(3)) : nil }.sorted()
        let listed = text(root.appendingPathComponent("online")).flatMap { try? CPUList.parse($0) }
        func online(_ cpu: Int) -> Bool {
            if let flag = text(root.appendingPathComponent("cpu\(cpu)/online")) { return flag != "0" }
            return listed?.contains(cpu) ?? true
        }
        var groups: [[Int]: OracleDomain] = [:]
        for cpu in cpus where online(cpu) {
            let dir = root.appendingPathComponent("cpu\(cpu)/cpufreq")
            guard let related = text(dir.appendingPathComponent("related_cpus")) else { continue }
            let members = related.split(separator: " ").compactMap { Int($0) }.filter(online).sorted()
            guard groups[members] == nil, let driver = text(dir.appendingPathComponent("scaling_driver")),
                  let low = text(dir.appendingPathComponent("cpuinfo_min_freq")).flatMap({ Int($0) }),
                  let high = text(dir.appendingPathComponent("cpuinfo_max_freq")).flatMap({ Int($0) }) else { continue }
            let table = Set((text(dir.appendingPathComponent("scaling_available_frequencies")) ?? "")
                .split(separator: " ").compactMap { Int($0) }).sorted()
            let capacity = members.compactMap { text(root.appendingPathComponent("cpu\($0)/cpu_capacity")).flatMap { Int($0) } }.max()
            groups[members] = OracleDomain(cpus: members, driver: driver, frequencies: table.isEmpty ? steps(low, high) : table,
                                           hasTable: !table.isEmpty, capacity: capacity ?? -1)
        }
        let top = groups.values.map { $0.frequencies.last! }.max() ?? 1
        let domains = groups.values.map { d -> OracleDomain in
            var d = d
            if d.capacity < 0 { d.capacity = Int((1024 * Double(d.frequencies.last!) / Double(top)).rounded()) }
            return d
        }.sorted { $0.cpus[0] < $1.cpus[0] }
        let present = text(root.appendingPathComponent("present")).flatMap { try? CPUList.parse($0) } ?? cpus
        return (domains, cpus.filter { present.contains($0) && !online($0) })
    }
}

/// Facts read by eye from the trees' files (README of ../shared/validation and the files).
let validationFacts: [String: (domains: Int, driver: String, capacities: Set<Int>)] = [
    "phone-snapdragon-3policy": (3, "qcom-cpufreq-hw", [280, 855, 1024]),
    "arm-cppc-gb10": (20, "cppc_cpufreq", [718, 731, 997, 1017, 1024]),
    "xeon-e5-2680-acpi": (16, "acpi-cpufreq", [1024]),
    "epyc-7451-acpi": (96, "acpi-cpufreq", [1024]),
    "intel-i7-1165G7-pstate": (8, "intel_pstate", [1024]),
    "u8500-arm": (1, "U8500", [1024]),
    "ryzen9-5950x-amd-pstate-epp": (1, "amd-pstate-epp", [1024]),
    "ryzen7-5800x-amd-pstate": (1, "amd-pstate", [1024]),
]

/// Every tree under ../shared/validation/sysfs that has sys/devices/system/cpu.
let validationTrees: [String] = {
    guard let root = FixtureTree.validationRoot,
          let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return [] }
    return names.filter { FileManager.default.fileExists(atPath: root.appendingPathComponent("\($0)/sys/devices/system/cpu").path) }.sorted()
}()

@Suite("gearboxctl inspect on the real trees of ../shared/validation/sysfs (mount namespace)",
       .needsMountNamespace,
       .enabled(if: !validationTrees.isEmpty, "no ../shared/validation/sysfs beside the repository (or /work/shared): skipped"))
struct ValidationTreeTests {
    @Test("inspect --json agrees with the tree's own files: domains, CPUs, driver, frequencies or limits, capacities",
          arguments: validationTrees)
    func agreesWithFiles(name: String) throws {
        let source = FixtureTree.validationRoot!.appendingPathComponent("\(name)/sys/devices/system/cpu")
        let tree = try FixtureTree(copying: source)
        defer { tree.remove() }
        for note in tree.notes { print("\(name): \(note)") }
        let result = try NamespaceRunner.run("gearboxctl", ["inspect", "--json"], cpuTree: tree.cpuRoot)
        #expect(result.status == 0, "\(name): \(result.stderr)")
        let inspected = try InspectJSON.decode(result.stdout)
        let oracle = SysfsOracle.domains(in: tree.cpuRoot)
        #expect(inspected.domains.map(\.cpus) == oracle.domains.map(\.cpus), "\(name)")
        for (got, want) in zip(inspected.domains, oracle.domains) {
            #expect(got.driver == want.driver, "\(name) \(got.name)")
            #expect(got.frequencies_khz == want.frequencies, "\(name) \(got.name)")
            #expect(got.has_frequency_table == want.hasTable, "\(name) \(got.name)")
            #expect(got.capacity == want.capacity, "\(name) \(got.name)")
            #expect(got.name.hasPrefix("policy"), "\(name) \(got.name)")
        }
        #expect(inspected.offline_cpus == oracle.offline, "\(name)")
        for item in inspected.unusable { print("\(name): not usable: CPUs \(item.cpus): \(item.reason)") }
        if let facts = validationFacts[name] {
            #expect(inspected.domains.count == facts.domains, "\(name)")
            #expect(Set(inspected.domains.map(\.driver)) == [facts.driver], "\(name)")
            #expect(Set(inspected.domains.map(\.capacity)) == facts.capacities, "\(name)")
        }
        // The table and the platform file work on it too.
        for format in [[], ["--toml"]] {
            let other = try NamespaceRunner.run("gearboxctl", ["inspect"] + format, cpuTree: tree.cpuRoot)
            #expect(other.status == 0 && !other.stdout.isEmpty, "\(name) \(format)")
        }
    }
}
