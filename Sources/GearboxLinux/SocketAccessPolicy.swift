import Glibc

/// Who may change the agent's policy through the control socket: root, and members of
/// one configured group (primary or supplementary). Queries are open to everyone.
public struct SocketAccessPolicy: Sendable, Equatable {
    /// The group whose members may make changes; nil means root only.
    public let group: gid_t?

    public init(group: gid_t?) {
        self.group = group
    }

    /// The policy for a group given by name or number (`"gearbox"`, `"1001"`); nil means root only.
    public init(groupName: String?) throws(SocketError) {
        self.group = try groupName.map { name throws(SocketError) in try Self.groupID(named: name) }
    }

    /// Whether `peer` may make changes: uid 0, or a member of `group`.
    public func permitsChanges(by peer: SocketPeerCredentials) -> Bool {
        Self.isRootOrMember(uid: peer.uid, gid: peer.gid, of: group)
    }

    /// Whether `uid` is root or belongs to `group`: as its primary group `gid`, its
    /// passwd entry's primary group, or a supplementary group (`getgrouplist(3)`).
    public static func isRootOrMember(uid: uid_t, gid: gid_t, of group: gid_t?) -> Bool {
        if uid == 0 { return true }
        guard let group else { return false }
        if gid == group { return true }
        guard let account = passwdEntry(uid: uid) else { return false }
        if account.gid == group { return true }
        return groupList(user: account.name, primary: account.gid).contains(group)
    }

    /// The gid of the group `name` (a name from the group database, or a decimal number).
    /// Calls `getgrnam_r(3)`.
    public static func groupID(named name: String) throws(SocketError) -> gid_t {
        if let number = gid_t(name) { return number }
        var entry = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        while true {
            let status = getgrnam_r(name, &entry, &buffer, buffer.count, &result)
            if status == ERANGE && buffer.count < 1 << 20 {
                buffer = [CChar](repeating: 0, count: buffer.count * 4)
                continue
            }
            guard status == 0 else { throw SocketError(.lookUpGroup, subject: name, errno: status) }
            guard let found = result else { throw SocketError(.lookUpGroup, subject: name, errno: ENOENT) }
            return found.pointee.gr_gid
        }
    }

    private static func passwdEntry(uid: uid_t) -> (name: String, gid: gid_t)? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        while true {
            let status = getpwuid_r(uid, &entry, &buffer, buffer.count, &result)
            if status == ERANGE && buffer.count < 1 << 20 {
                buffer = [CChar](repeating: 0, count: buffer.count * 4)
                continue
            }
            guard status == 0, let found = result else { return nil }
            return (String(cString: found.pointee.pw_name), found.pointee.pw_gid)
        }
    }

    private static func groupList(user: String, primary: gid_t) -> [gid_t] {
        var count: Int32 = 32
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            let wanted = count
            if getgrouplist(user, primary, &groups, &count) >= 0 {
                return Array(groups.prefix(Int(count)))
            }
            // getgrouplist set `count` to the number needed; guard against it not growing.
            if count <= wanted { count = wanted * 2 }
            if count > 65_536 { return [] }
        }
    }
}
