#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import GearboxCore

/// One way of confining a service to a set of CPUs, within which the kernel balances its
/// threads: a cgroup v2 cpuset, a cgroup v1 cpuset, or systemd's `AllowedCPUs=`. Chosen once
/// per service by `CPUConfinements.cgroup(_:)` or `.unit(_:)`.
public protocol CPUConfinement: Sendable {
    /// What is confined and how, for logs (`cgroup v1 cpuset /sys/fs/cgroup/cpuset/web`).
    var description: String { get }
    /// The setting as it is now, to be saved before the first change.
    func save() throws(ConfinementError) -> SavedConfinement
    /// Confines the service to `cpus` (ascending, not empty).
    func confine(to cpus: [Int]) throws(ConfinementError)
}

/// A confinement could not be read, changed or restored: what, and why.
public struct ConfinementError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A service's CPU setting as gearbox found it, enough to put it back without the config.
public struct SavedConfinement: Hashable, Sendable, Codable {
    public enum Mechanism: String, Hashable, Sendable, Codable {
        case cgroup2, cgroup1, systemd
    }
    public var mechanism: Mechanism
    /// The cgroup directory, or the unit's name.
    public var target: String
    /// The original CPU list as the kernel or systemd had it; "" means none set (the
    /// parent's CPUs, or every CPU).
    public var cpus: String
    /// cgroup v2: directories whose `cgroup.subtree_control` gearbox gave `+cpuset`, parent
    /// first; taken back, child first, after the CPUs.
    public var enabledControllers: [String]

    public init(mechanism: Mechanism, target: String, cpus: String, enabledControllers: [String] = []) {
        self.mechanism = mechanism
        self.target = target
        self.cpus = cpus
        self.enabledControllers = enabledControllers
    }

    enum CodingKeys: String, CodingKey {
        case mechanism, target, cpus
        case enabledControllers = "enabled_controllers"
    }

    /// Puts the saved setting back.
    public func restore() throws(ConfinementError) {
        switch mechanism {
        case .cgroup1: try CgroupV1CPUs(directory: target).restore(self)
        case .cgroup2: try CgroupV2CPUs(directory: target).restore(self)
        case .systemd: try SystemdUnitCPUs(unit: target).restore(self)
        }
    }
}

/// Picks the mechanism for a service.
public enum CPUConfinements {
    /// A cgroup directory: v2 when it has `cgroup.controllers` (only v2 directories do), v1
    /// when it is in the cpuset hierarchy (has `cpuset.cpus`).
    public static func cgroup(_ directory: String) throws(ConfinementError) -> any CPUConfinement {
        guard SysfsFile.isDirectory(directory) else { throw ConfinementError("cgroup \(directory) does not exist") }
        if SysfsFile.exists(directory + "/cgroup.controllers") { return CgroupV2CPUs(directory: directory) }
        guard SysfsFile.exists(directory + "/cgroup.procs") else {
            throw ConfinementError("\(directory) is not a cgroup directory (no cgroup.procs)")
        }
        guard SysfsFile.exists(directory + "/cpuset.cpus") else {
            throw ConfinementError("cgroup \(directory) is a cgroup v1 directory outside the cpuset hierarchy (no cpuset.cpus)")
        }
        return CgroupV1CPUs(directory: directory)
    }

    /// A systemd unit, through the system bus (`$DBUS_SYSTEM_BUS_ADDRESS` when set).
    public static func unit(_ name: String) -> any CPUConfinement {
        SystemdUnitCPUs(unit: name)
    }

    /// A kernel CPU list (`0-3,8`) as CPU numbers; "" is none.
    static func parse(_ text: String, source: String) throws(ConfinementError) -> [Int] {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { return [] }
        do { return try CPUList.parse(trimmed) } catch {
            throw ConfinementError("\(source): \"\(trimmed.prefix(80))\" is not a CPU list: \(error)")
        }
    }
}
