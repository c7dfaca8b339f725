#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GearboxLinux
import Logging

extension ControlServer {
    /// The control socket to serve: the one systemd passed (socket activation,
    /// `systemd/gearboxd.socket`) when there is one, else `path` bound here with `mode` and
    /// `groupName`'s group. A group that does not exist is logged and left out (the file keeps
    /// the agent's group); the missing parent directory is created (0755).
    public static func openListener(path: String, mode: Int, groupName: String?, logger: Logger) throws(SocketError) -> SocketListener {
        let inherited = try SocketActivation.listeningSockets()
        if let listener = inherited.first(where: { $0.path == path }) ?? inherited.first {
            logger.info("control socket passed by systemd: \(listener.path ?? "unnamed")", metadata: ["event": "control_activated"])
            for extra in inherited where extra != listener { extra.close() }
            return listener
        }
        var group: gid_t?
        if let groupName {
            do {
                group = try SocketAccessPolicy.groupID(named: groupName)
            } catch {
                logger.warning("control group \(groupName) not found; the socket keeps the agent's group: \(error)", metadata: ["event": "fault"])
            }
        }
        let directory = FilePath.parentDirectory(path)
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o755])
        }
        return try SocketListener.bind(path: path, mode: mode_t(mode), group: group)
    }
}
