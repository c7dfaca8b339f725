/// What serves a queue, when the agent is to confine it to the CPUs its plan gives it
/// (docs/agent.md, "Confining a queue's service"): a systemd unit or slice, or a cgroup
/// directory. A queue that names neither has its split published, not enforced.
public enum QueueConfinement: Hashable, Sendable, CustomStringConvertible {
    /// A systemd unit (`nginx.service`, `web.slice`, `x.scope`), confined with `AllowedCPUs=`.
    case unit(String)
    /// A cgroup directory under the cgroup mount, confined through its `cpuset.cpus`.
    case cgroup(String)

    public var description: String {
        switch self {
        case .unit(let name): "unit \(name)"
        case .cgroup(let path): "cgroup \(path)"
        }
    }

    /// Where cgroup paths must lie.
    public static let cgroupMount = "/sys/fs/cgroup/"
    /// Longest accepted unit name (systemd's own limit) and cgroup path.
    public static let maximumUnitLength = 255
    public static let maximumPathLength = 1024
    /// Unit types that have a cgroup, so `AllowedCPUs=` applies to them.
    public static let unitSuffixes = [".service", ".slice", ".scope"]

    /// Why `name` is not a unit gearbox may confine, or nil when it is.
    public static func unitRefusal(_ name: String) -> String? {
        guard !name.isEmpty else { return "must not be empty" }
        guard name.utf8.count <= maximumUnitLength else { return "longer than \(maximumUnitLength) bytes" }
        guard unitSuffixes.contains(where: { name.hasSuffix($0) && name.count > $0.count }) else {
            return "\"\(name)\" is not a unit name ending in \(unitSuffixes.joined(separator: ", "))"
        }
        // systemd's unit-name alphabet: letters, digits, and : - _ . \ @
        let allowed = name.unicodeScalars.allSatisfy { c in
            c.isASCII && (("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || ":-_.\\@".unicodeScalars.contains(c))
        }
        guard allowed else { return "\"\(name)\" has characters a unit name cannot have" }
        return nil
    }

    /// Why `path` is not a cgroup directory gearbox may confine, or nil when it is: absolute,
    /// under the cgroup mount, no `.` or `..` components, no empty components, bounded.
    public static func cgroupRefusal(_ path: String) -> String? {
        guard path.utf8.count <= maximumPathLength else { return "longer than \(maximumPathLength) bytes" }
        guard path.hasPrefix(cgroupMount) else { return "\"\(path)\" is not under \(cgroupMount)" }
        var components = path.dropFirst(cgroupMount.count).split(separator: "/", omittingEmptySubsequences: false)
        if components.last == "" { components.removeLast() }
        guard !components.isEmpty else { return "names the cgroup mount itself, not a cgroup" }
        for c in components {
            guard !c.isEmpty else { return "\"\(path)\" has an empty component (//)" }
            guard c != "." && c != ".." else { return "\"\(path)\" may not contain . or .. components" }
        }
        guard path.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
            return "\"\(path)\" contains control characters"
        }
        return nil
    }

    /// The path without a trailing slash.
    static func normalisedCgroup(_ path: String) -> String {
        path.hasSuffix("/") ? String(path.dropLast()) : path
    }
}

extension QueueConfinement {
    /// The config key that names it.
    var key: String {
        switch self {
        case .unit: "unit"
        case .cgroup: "cgroup"
        }
    }
}

extension QueueTable {
    /// A `[[queue]]`'s `unit` or `cgroup` (at most one), checked; read before `parse`.
    static func confinement(_ r: inout TableReader) throws(ConfigError) -> QueueConfinement? {
        let unit = try r.string("unit")
        let cgroup = try r.string("cgroup")
        switch (unit, cgroup) {
        case (nil, nil):
            return nil
        case (let name?, nil):
            if let refusal = QueueConfinement.unitRefusal(name) { throw r.error("unit", refusal) }
            return .unit(name)
        case (nil, let path?):
            if let refusal = QueueConfinement.cgroupRefusal(path) { throw r.error("cgroup", refusal) }
            return .cgroup(QueueConfinement.normalisedCgroup(path))
        case (_?, _?):
            throw r.error("cgroup", "give one of unit or cgroup, not both")
        }
    }
}
