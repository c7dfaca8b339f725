import Foundation
@testable import GearboxLinux
import Testing

/// Reads through descriptors kept open (the governor read-back), and which CPUs a RAPL package
/// zone is charged to, on small trees written here.
@Suite("Kept-open reads and package zones")
struct KeptOpenReadTests {
    /// `cpu0…cpu(n-1)/cpufreq/scaling_governor` under a fresh directory.
    static func governorTree(cpus: Int, governor: String) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        for cpu in 0..<cpus {
            try FileManager.default.createDirectory(atPath: directory.file("cpu\(cpu)/cpufreq"), withIntermediateDirectories: true)
            try "\(governor)\n".write(toFile: directory.file("cpu\(cpu)/cpufreq/scaling_governor"), atomically: false, encoding: .utf8)
        }
        return directory
    }

    @Test("a governor rewritten in place (as the kernel changes it) is read afresh through the kept descriptor")
    func governorRewrittenInPlace() throws {
        let tree = try Self.governorTree(cpus: 2, governor: "userspace")
        defer { tree.remove() }
        let library = LibCPUFreq(sysfs: CPUSysfs(root: tree.path))
        #expect(library.governor(cpu: 0) == "userspace")
        #expect(library.governorFiles.count == 1)
        // What `cpupower frequency-set -g ondemand` leaves behind; a shorter name, so stale bytes would show.
        try "ondemand\n".write(toFile: tree.file("cpu0/cpufreq/scaling_governor"), atomically: false, encoding: .utf8)
        #expect(library.governor(cpu: 0) == "ondemand")
        #expect(library.governor(cpu: 1) == "userspace")
        #expect(library.governorFiles.count == 2)
    }

    @Test("no more than the bound are kept; reads beyond it open the file each time, and a missing file keeps nothing")
    func boundedDescriptors() throws {
        let tree = try Self.governorTree(cpus: 5, governor: "performance")
        defer { tree.remove() }
        let files = KeptOpenDescriptors(maximumOpen: 3)
        for round in 0..<2 {
            for cpu in 0..<5 {
                let text = files.readTrimmed(.init(cpu: cpu, attribute: .governor), path: tree.file("cpu\(cpu)/cpufreq/scaling_governor"))
                #expect(text == "performance", "round \(round), cpu \(cpu)")
            }
        }
        #expect(files.count == 3)
        #expect(files.readTrimmed(.init(cpu: 9, attribute: .governor), path: tree.file("cpu9/cpufreq/scaling_governor")) == nil)
        #expect(files.count == 3)
        files.forget(cpu: 1)
        #expect(files.count == 2)
    }

    /// `powercap/intel-rapl:N` zones named `package-N` (and a `core` sub-zone), and CPUs with or
    /// without `topology/physical_package_id`.
    static func raplTree(packages: Int, cpuPackages: [Int?]) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        func write(_ text: String, _ path: String) throws {
            try FileManager.default.createDirectory(atPath: (directory.file(path) as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try text.write(toFile: directory.file(path), atomically: false, encoding: .utf8)
        }
        for package in 0..<packages {
            try write("package-\(package)\n", "powercap/intel-rapl:\(package)/name")
            try write("1000\n", "powercap/intel-rapl:\(package)/energy_uj")
            try write("262143328850\n", "powercap/intel-rapl:\(package)/max_energy_range_uj")
            try write("core\n", "powercap/intel-rapl:\(package):0/name")
            try write("10\n", "powercap/intel-rapl:\(package):0/energy_uj")
        }
        for (cpu, package) in cpuPackages.enumerated() {
            try FileManager.default.createDirectory(atPath: directory.file("cpu/cpu\(cpu)"), withIntermediateDirectories: true)
            if let package { try write("\(package)\n", "cpu/cpu\(cpu)/topology/physical_package_id") }
        }
        return directory
    }

    static func zones(_ tree: TemporaryDirectory, cpus: [Int]) -> [String: Set<Int>] {
        let reader = PowerCounterReader(powercap: PowercapZones(root: tree.file("powercap")), sysfs: CPUSysfs(root: tree.file("cpu")))
        return Dictionary(uniqueKeysWithValues: reader.packageZones(cpus: cpus).map { ($0.name, $0.cpus) })
    }

    @Test("one package zone and no topology: every CPU is charged to it")
    func singlePackageWithoutTopology() throws {
        let tree = try Self.raplTree(packages: 1, cpuPackages: [nil, nil, nil, nil])
        defer { tree.remove() }
        #expect(Self.zones(tree, cpus: [0, 1, 2, 3]) == ["package-0": [0, 1, 2, 3]])
    }

    @Test("two package zones: each CPU goes to its physical package; without topology neither can be told")
    func twoPackages() throws {
        let known = try Self.raplTree(packages: 2, cpuPackages: [0, 1, 0, 1])
        defer { known.remove() }
        #expect(Self.zones(known, cpus: [0, 1, 2, 3]) == ["package-0": [0, 2], "package-1": [1, 3]])
        let unknown = try Self.raplTree(packages: 2, cpuPackages: [nil, nil, nil, nil])
        defer { unknown.remove() }
        #expect(Self.zones(unknown, cpus: [0, 1, 2, 3]).isEmpty)
    }
}
