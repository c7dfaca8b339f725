import Foundation

/// A copy of a cpufreq tree in a temporary directory, ready to bind-mount over
/// /sys/devices/system/cpu: files get the modes the kernel gives them, and per-CPU
/// `cpufreq` links that a copy flattened into text files are made links again.
struct FixtureTree {
    /// Where the copy lives; `cpu` under it is the tree to mount.
    let directory: URL
    var cpuRoot: URL { directory.appendingPathComponent("cpu") }
    /// Notes on what was repaired, to print with test output.
    var notes: [String] = []

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardized
    static let fixturesRoot = repositoryRoot.appendingPathComponent("Tests/Fixtures")

    /// The shared validation trees: `../shared/validation/sysfs` beside the clone (CI), or
    /// /work/shared for a worktree; nil when neither exists.
    static let validationRoot: URL? = {
        let candidates = [
            repositoryRoot.appendingPathComponent("../shared/validation/sysfs").standardized,
            URL(fileURLWithPath: "/work/shared/validation/sysfs"),
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }()

    /// Copies `Tests/Fixtures/<machine>/cpu`.
    init(fixture machine: String) throws {
        try self.init(copying: Self.fixturesRoot.appendingPathComponent("\(machine)/cpu"))
    }

    /// Copies any tree shaped like /sys/devices/system/cpu.
    init(copying source: URL) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("gearbox-fixture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Self.run("/bin/cp", ["-a", source.path, cpuRoot.path])
        try repairFlattenedLinks()
        try applyKernelModes()
    }

    /// A copy of `Tests/Fixtures/<name>/<sub>` as a sibling directory (for /sys/class).
    func addSibling(fixture name: String, named target: String) throws -> URL {
        let destination = directory.appendingPathComponent(target)
        try Self.run("/bin/cp", ["-a", Self.fixturesRoot.appendingPathComponent(name).path, destination.path])
        return destination
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Attributes the kernel lets root write (0644); every other attribute is 0444, and
    /// `cpuinfo_cur_freq` is 0400.
    static let writable: Set<String> = [
        "scaling_governor", "scaling_min_freq", "scaling_max_freq", "scaling_setspeed", "online", "boost",
        "energy_performance_preference", "status", "no_turbo", "max_perf_pct", "min_perf_pct", "hwp_dynamic_boost",
        "prefcore",
    ]

    private func applyKernelModes() throws {
        let enumerator = FileManager.default.enumerator(atPath: cpuRoot.path)
        while let relative = enumerator?.nextObject() as? String {
            let path = cpuRoot.appendingPathComponent(relative).path
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let type = attributes[.type] as? FileAttributeType
            let name = (relative as NSString).lastPathComponent
            let mode: Int
            switch type {
            case .typeDirectory?: mode = 0o755
            case .typeRegular?: mode = Self.writable.contains(name) ? 0o644 : name == "cpuinfo_cur_freq" ? 0o400 : 0o444
            default: continue
            }
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
    }

    /// Some copies of real trees store `cpuN/cpufreq` as a text file holding the link target
    /// (`../cpufreq/policy0`); the kernel has a link there.
    private mutating func repairFlattenedLinks() throws {
        var repaired: [String] = []
        for entry in try FileManager.default.contentsOfDirectory(atPath: cpuRoot.path) where entry.hasPrefix("cpu") {
            let link = cpuRoot.appendingPathComponent("\(entry)/cpufreq")
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: link.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  (try? FileManager.default.destinationOfSymbolicLink(atPath: link.path)) == nil,
                  let target = try? String(contentsOf: link, encoding: .utf8)
                      .trimmingCharacters(in: .whitespacesAndNewlines),
                  target.hasPrefix("../cpufreq/policy") else { continue }
            try FileManager.default.setAttributes([.posixPermissions: 0o755],
                                                  ofItemAtPath: link.deletingLastPathComponent().path)
            try FileManager.default.removeItem(at: link)
            try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: target)
            repaired.append(entry)
        }
        if !repaired.isEmpty {
            notes.append("made \(repaired.count) flattened cpuN/cpufreq files into links again")
        }
    }

    /// Every file's bytes and every link's target, by relative path (links not followed).
    func contents() throws -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: cpuRoot.path)
        while let relative = enumerator?.nextObject() as? String {
            let url = cpuRoot.appendingPathComponent(relative)
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: url.path) {
                result[relative] = "-> " + target
                enumerator?.skipDescendants()
                continue
            }
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            if !isDirectory.boolValue {
                result[relative] = String(decoding: try Data(contentsOf: url), as: UTF8.self)
            }
        }
        return result
    }

    /// Writes `text` to a file of the tree (relative path), keeping its mode.
    func write(_ text: String, to relative: String) throws {
        try Data(text.utf8).write(to: cpuRoot.appendingPathComponent(relative))
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "\(tool) \(arguments) failed"])
        }
    }
}

/// The files that differ between two `contents()` maps: path → (before, after); nil = absent.
func changedFiles(_ before: [String: String], _ after: [String: String]) -> [String: (String?, String?)] {
    var changes: [String: (String?, String?)] = [:]
    for path in Set(before.keys).union(after.keys) where before[path] != after[path] {
        changes[path] = (before[path], after[path])
    }
    return changes
}
