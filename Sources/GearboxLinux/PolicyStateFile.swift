#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GearboxCore

/// The cpufreq settings gearbox found before its first write, kept on disk so that a run that
/// dies without restoring them is undone at the next start.
///
/// Default path `/var/lib/gearbox/cpufreq-state.json` (systemd `StateDirectory=gearbox`).
/// `clean` is false from the first write until a restore has put every domain back.
public struct PolicySnapshot: Hashable, Sendable, Codable {
    /// Settings of one policy before gearbox touched it.
    public struct Domain: Hashable, Sendable, Codable {
        public var name: String
        /// The policy's CPUs; any online one of them reaches the policy.
        public var cpus: [Int]
        public var governor: String
        public var minimum: Kilohertz
        public var maximum: Kilohertz
        /// `scaling_setspeed` when the governor was already userspace, else nil.
        public var setspeed: Kilohertz?

        public init(name: String, cpus: [Int], governor: String, minimum: Kilohertz, maximum: Kilohertz, setspeed: Kilohertz?) {
            self.name = name
            self.cpus = cpus
            self.governor = governor
            self.minimum = minimum
            self.maximum = maximum
            self.setspeed = setspeed
        }

        enum CodingKeys: String, CodingKey {
            case name, cpus, governor
            case minimum = "min_khz", maximum = "max_khz", setspeed = "setspeed_khz"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            cpus = try c.decode([Int].self, forKey: .cpus)
            governor = try c.decode(String.self, forKey: .governor)
            minimum = Kilohertz(try c.decode(Int.self, forKey: .minimum))
            maximum = Kilohertz(try c.decode(Int.self, forKey: .maximum))
            setspeed = try c.decodeIfPresent(Int.self, forKey: .setspeed).map(Kilohertz.init)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(cpus, forKey: .cpus)
            try c.encode(governor, forKey: .governor)
            try c.encode(minimum.value, forKey: .minimum)
            try c.encode(maximum.value, forKey: .maximum)
            try c.encode(setspeed?.value, forKey: .setspeed)
        }
    }

    public var format: Int = 1
    public var clean: Bool
    /// The process that wrote the file, and the boot it ran in: a stale file from an earlier
    /// boot needs no restore (the kernel started afresh).
    public var pid: Int32
    public var bootID: String?
    public var domains: [Domain]
    /// Original energy-performance preferences and boost switches, by sysfs path.
    public var tunables: [String: String]?

    public init(clean: Bool, pid: Int32, bootID: String?, domains: [Domain]) {
        self.clean = clean
        self.pid = pid
        self.bootID = bootID
        self.domains = domains
    }

    enum CodingKeys: String, CodingKey {
        case format, clean, pid, domains, tunables
        case bootID = "boot_id"
    }
}

/// Reads and writes the snapshot file atomically (write to a temporary file, then rename).
public struct PolicyStateFile: Sendable {
    public static let defaultPath = "/var/lib/gearbox/cpufreq-state.json"
    public var path: String

    public init(path: String = PolicyStateFile.defaultPath) { self.path = path }

    /// The snapshot, or nil when there is no file (or one larger than 4 MiB: an error).
    public func load() throws(PolicyStateError) -> PolicySnapshot? { try file.load() }

    /// Writes the snapshot atomically and durably.
    public func save(_ snapshot: PolicySnapshot) throws(PolicyStateError) { try file.save(snapshot) }

    private var file: JSONStateFile<PolicySnapshot> { JSONStateFile(path: path, kind: "gearbox state file", escapesSlashes: true) }

    /// This boot's id (`/proc/sys/kernel/random/boot_id`), or nil.
    static func currentBootID() -> String? {
        SysfsFile.readTrimmed("/proc/sys/kernel/random/boot_id")
    }
}

/// The state file could not be read or written.
public struct PolicyStateError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}
