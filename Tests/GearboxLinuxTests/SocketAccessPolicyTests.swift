import Foundation
import GearboxLinux
import Glibc
import Testing

@Suite struct SocketAccessPolicyTests {
    @Test func rootMayAlwaysChange() {
        let root = SocketPeerCredentials(pid: 1, uid: 0, gid: 0)
        #expect(SocketAccessPolicy(group: nil).permitsChanges(by: root))
        #expect(SocketAccessPolicy(group: 4242).permitsChanges(by: root))
    }

    @Test func primaryGroupOfTheConnectionCounts() {
        // uid 4243 has no passwd entry: only the gid from SO_PEERCRED can grant access.
        #expect(SocketAccessPolicy.isRootOrMember(uid: 4243, gid: 4242, of: 4242))
        #expect(!SocketAccessPolicy.isRootOrMember(uid: 4243, gid: 4241, of: 4242))
        #expect(!SocketAccessPolicy.isRootOrMember(uid: 4243, gid: 4242, of: nil))
    }

    @Test func passwdPrimaryGroupCounts() throws {
        // nobody's passwd entry names nogroup (65534) as its primary group.
        let nobody = try #require(getpwnam("nobody"))
        let gid = nobody.pointee.pw_gid
        #expect(SocketAccessPolicy.isRootOrMember(uid: nobody.pointee.pw_uid, gid: 12345, of: gid))
    }

    @Test(.enabled(if: ThrowawayMembership.unavailableReason == nil,
                   Comment(rawValue: ThrowawayMembership.unavailableReason ?? "")))
    func supplementaryGroupCounts() throws {
        let membership = try ThrowawayMembership()
        defer { membership.remove() }
        // Neither the connection's gid nor the passwd entry's names the group: only the group
        // database's member list does.
        #expect(SocketAccessPolicy.isRootOrMember(uid: membership.uid, gid: membership.primary, of: membership.group))
        #expect(!SocketAccessPolicy.isRootOrMember(uid: membership.uid, gid: membership.primary, of: 4_000_000))
        // Another user with the same primary group is not a member.
        let nobody = try #require(getpwnam("nobody"))
        #expect(!SocketAccessPolicy.isRootOrMember(uid: nobody.pointee.pw_uid, gid: membership.primary, of: membership.group))
    }

    @Test func groupsAreLookedUpByNameOrNumber() throws {
        #expect(try SocketAccessPolicy.groupID(named: "root") == 0)
        #expect(try SocketAccessPolicy.groupID(named: "1234") == 1234)
        #expect(try SocketAccessPolicy(groupName: "root").group == 0)
        #expect(try SocketAccessPolicy(groupName: nil).group == nil)
        let error = #expect(throws: SocketError.self) { try SocketAccessPolicy.groupID(named: "no-such-gearbox-group") }
        #expect(error == SocketError(.lookUpGroup, subject: "no-such-gearbox-group", errno: ENOENT))
    }
}

/// A throwaway system user (primary group nogroup) listed as the only member of a throwaway
/// group, made with groupadd and useradd for one test and removed again with userdel and groupdel.
struct ThrowawayMembership {
    static let tools = ["/usr/sbin/groupadd", "/usr/sbin/useradd", "/usr/sbin/userdel", "/usr/sbin/groupdel"]

    /// Why no such member can be made here, or nil when it can.
    static let unavailableReason: String? = {
        guard geteuid() == 0 else { return "needs root to add a throwaway user and group" }
        let missing = tools.filter { !FileManager.default.isExecutableFile(atPath: $0) }
        return missing.isEmpty ? nil : "\(missing.joined(separator: ", ")) not installed (the passwd package)"
    }()

    let userName: String
    let groupName: String
    let uid: uid_t
    let primary: gid_t
    let group: gid_t

    init() throws {
        let suffix = "\(getpid() % 100_000)-\(UInt16.random(in: 0...UInt16.max))"
        groupName = "gbx-g-\(suffix)"
        userName = "gbx-u-\(suffix)"
        try Self.run("/usr/sbin/groupadd", ["--system", groupName])
        do {
            try Self.run("/usr/sbin/useradd", ["--system", "--no-create-home", "--home-dir", "/nonexistent",
                                               "--shell", "/usr/sbin/nologin", "--gid", "65534", "--groups", groupName, userName])
        } catch {
            try? Self.run("/usr/sbin/groupdel", [groupName])
            throw error
        }
        guard let account = getpwnam(userName), let entry = getgrnam(groupName) else {
            try? Self.run("/usr/sbin/userdel", [userName])
            try? Self.run("/usr/sbin/groupdel", [groupName])
            throw ThrowawayMembershipError(description: "\(userName) or \(groupName) was added but cannot be looked up")
        }
        uid = account.pointee.pw_uid
        primary = account.pointee.pw_gid
        group = entry.pointee.gr_gid
    }

    func remove() {
        try? Self.run("/usr/sbin/userdel", [userName])
        try? Self.run("/usr/sbin/groupdel", [groupName])
    }

    /// Runs a shadow tool, trying again while another process holds the passwd or group lock.
    private static func run(_ tool: String, _ arguments: [String]) throws {
        var result = try Child.run(tool, arguments, timeout: .seconds(60))
        var attempts = 1
        while result.status != 0 && result.standardError.contains("lock") && attempts < 50 {
            usleep(100_000)
            result = try Child.run(tool, arguments, timeout: .seconds(60))
            attempts += 1
        }
        guard result.status == 0 else {
            throw ThrowawayMembershipError(description: "\(tool) \(arguments.joined(separator: " ")): exit \(result.status): \(result.standardError)")
        }
    }
}

struct ThrowawayMembershipError: Error, CustomStringConvertible {
    let description: String
}
