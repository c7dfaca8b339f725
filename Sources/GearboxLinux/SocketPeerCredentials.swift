import CSystemd
import Glibc

/// Who is at the other end of a connected Unix socket, as the kernel recorded it at
/// connect time (`SO_PEERCRED`): not forgeable by the peer.
public struct SocketPeerCredentials: Sendable, Equatable, CustomStringConvertible {
    public let pid: pid_t
    public let uid: uid_t
    public let gid: gid_t

    public init(pid: pid_t, uid: uid_t, gid: gid_t) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    /// The peer of the connected socket `descriptor`. Calls `getsockopt(SO_PEERCRED)`.
    public static func of(connection descriptor: Int32) throws(SocketError) -> SocketPeerCredentials {
        var credentials = gearbox_ucred()
        var length = socklen_t(MemoryLayout<gearbox_ucred>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else {
            throw SocketError(.peerCredentials, subject: "descriptor \(descriptor)", errno: errno)
        }
        return SocketPeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
    }

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }
}
