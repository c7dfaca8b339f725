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

    /// A user listed as a supplementary member of a group in the group database, from /etc/group.
    static func supplementaryMembership() -> (uid: uid_t, primary: gid_t, group: gid_t)? {
        guard let text = try? String(contentsOfFile: "/etc/group", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 4, let gid = gid_t(fields[2]) else { continue }
            for member in fields[3].split(separator: ",") {
                guard let account = getpwnam(String(member)), account.pointee.pw_gid != gid, account.pointee.pw_uid != 0 else { continue }
                return (account.pointee.pw_uid, account.pointee.pw_gid, gid)
            }
        }
        return nil
    }

    @Test(.enabled(if: supplementaryMembership() != nil, "no non-root user with a supplementary group in /etc/group"))
    func supplementaryGroupCounts() throws {
        let membership = try #require(Self.supplementaryMembership())
        #expect(SocketAccessPolicy.isRootOrMember(uid: membership.uid, gid: membership.primary, of: membership.group))
        #expect(!SocketAccessPolicy.isRootOrMember(uid: membership.uid, gid: membership.primary, of: 4_000_000))
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
