#if canImport(Glibc)
import Glibc
#endif

/// Which file a path names (device and inode), to notice that a socket's file was removed or
/// replaced while the agent kept the socket open.
struct SocketFileIdentity: Equatable, Sendable {
    let path: String
    let device: UInt64?
    let inode: UInt64?

    init(path: String) {
        self.path = path
        var status = stat()
        if lstat(path, &status) == 0 {
            device = UInt64(status.st_dev)
            inode = UInt64(status.st_ino)
        } else {
            device = nil
            inode = nil
        }
    }
}
