import GearboxCore

/// A cgroup of the v1 cpuset hierarchy: `cpuset.cpus` of its directory. The kernel moves every
/// thread of the cgroup's tasks to the new set when the file is written.
struct CgroupV1CPUs: CPUConfinement {
    let directory: String
    var file: String { directory + "/cpuset.cpus" }
    var description: String { "cgroup v1 cpuset \(directory)" }

    func save() throws(ConfinementError) -> SavedConfinement {
        SavedConfinement(mechanism: .cgroup1, target: directory, cpus: try CgroupFiles.read(file))
    }

    func confine(to cpus: [Int]) throws(ConfinementError) {
        try CgroupFiles.write(CPUList.format(cpus), to: file)
    }

    func restore(_ saved: SavedConfinement) throws(ConfinementError) {
        guard try CgroupFiles.read(file) != saved.cpus else { return }
        // An empty v1 cpuset with tasks in it is refused by the kernel (ENOSPC), and no
        // gearbox-confined cgroup started empty with tasks; write what was there.
        try CgroupFiles.write(saved.cpus.isEmpty ? "\n" : saved.cpus, to: file)
    }
}

/// Reading and writing cgroup control files, with the error naming the file.
enum CgroupFiles {
    /// The file's text, trimmed; bounded (a CPU list of 8192 CPUs fits well within 64 KiB).
    static func read(_ path: String) throws(ConfinementError) -> String {
        let text: String
        do { text = try SysfsFile.read(path) } catch { throw ConfinementError(error.description) }
        guard text.utf8.count <= 65_536 else { throw ConfinementError("\(path): longer than 64 KiB") }
        return text.trimmingWhitespace()
    }

    static func write(_ value: String, to path: String) throws(ConfinementError) {
        do { try SysfsFile.write(value, to: path) } catch { throw ConfinementError(error.description) }
    }
}
