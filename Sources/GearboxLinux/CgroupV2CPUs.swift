import GearboxCore

/// A cgroup v2 directory: `cpuset.cpus`, which exists once the parent's
/// `cgroup.subtree_control` has the cpuset controller. gearbox enables it from the mount
/// root down where it is missing, records where, and takes it back on restore.
struct CgroupV2CPUs: CPUConfinement {
    let directory: String
    var file: String { directory + "/cpuset.cpus" }
    var description: String { "cgroup v2 cpuset \(directory)" }

    func save() throws(ConfinementError) -> SavedConfinement {
        // What is enabled here is decided (and recorded) before anything is written.
        let missing = try ancestorsMissingCpuset()
        let cpus = missing.isEmpty ? try CgroupFiles.read(file) : ""
        return SavedConfinement(mechanism: .cgroup2, target: directory, cpus: cpus, enabledControllers: missing)
    }

    func confine(to cpus: [Int]) throws(ConfinementError) {
        for parent in try ancestorsMissingCpuset() {
            try CgroupFiles.write("+cpuset", to: parent + "/cgroup.subtree_control")
        }
        try CgroupFiles.write(CPUList.format(cpus), to: file)
    }

    func restore(_ saved: SavedConfinement) throws(ConfinementError) {
        if SysfsFile.exists(file), try CgroupFiles.read(file) != saved.cpus {
            // "" (written as a newline) gives the cgroup its parent's CPUs again.
            try CgroupFiles.write(saved.cpus.isEmpty ? "\n" : saved.cpus, to: file)
        }
        for parent in saved.enabledControllers.reversed() {
            let control = parent + "/cgroup.subtree_control"
            guard (try? CgroupFiles.read(control))?.split(separator: " ").contains("cpuset") == true else { continue }
            try CgroupFiles.write("-cpuset", to: control)
        }
    }

    /// Ancestors (mount root first) whose `cgroup.subtree_control` lacks cpuset, between the
    /// cgroup2 mount root and this directory's parent.
    func ancestorsMissingCpuset() throws(ConfinementError) -> [String] {
        guard SysfsFile.isDirectory(directory) else { throw ConfinementError("cgroup \(directory) does not exist") }
        var chain: [String] = []
        var current = directory
        // The mount root is the first ancestor without cgroup.type (the root has none).
        while let slash = current.lastIndex(of: "/"), slash != current.startIndex {
            let parent = String(current[..<slash])
            guard SysfsFile.exists(parent + "/cgroup.subtree_control") else { break }
            chain.append(parent)
            if !SysfsFile.exists(parent + "/cgroup.type") { break }
            current = parent
            if chain.count > 64 { throw ConfinementError("cgroup \(directory) is nested more than 64 deep") }
        }
        var missing: [String] = []
        for parent in chain.reversed() {
            let enabled = try CgroupFiles.read(parent + "/cgroup.subtree_control").split(separator: " ")
            if !enabled.contains("cpuset") {
                let available = try CgroupFiles.read(parent + "/cgroup.controllers").split(separator: " ")
                guard available.contains("cpuset") else {
                    throw ConfinementError("cgroup \(parent) has no cpuset controller (bound to a v1 hierarchy?)")
                }
                missing.append(parent)
            }
        }
        return missing
    }
}
