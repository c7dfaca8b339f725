import CSystemd
import Glibc

/// Sockets handed over by systemd (socket activation, `systemd/gearboxd.socket`).
public enum SocketActivation {
    /// The listening Unix stream sockets systemd passed to this process, with their names;
    /// empty when the process was not socket-activated. Calls `sd_listen_fds_with_names(3)`,
    /// which checks `LISTEN_PID` against this process; `unsetEnvironment` clears the
    /// `LISTEN_*` variables so that children do not take the sockets for theirs.
    /// Passed descriptors that are not listening Unix stream sockets are left alone.
    public static func listeningSockets(unsetEnvironment: Bool = true) throws(SocketError) -> [SocketListener] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(unsetEnvironment ? 1 : 0, &names)
        guard count >= 0 else { throw SocketError(.inheritSockets, subject: nil, errno: -count) }
        defer { freeNames(names, count: Int(count)) }
        var listeners: [SocketListener] = []
        for index in 0..<Int(count) {
            let descriptor = SD_LISTEN_FDS_START + Int32(index)
            guard sd_is_socket_unix(descriptor, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0 else { continue }
            // systemd passes descriptors without close-on-exec; the agent's children must not hold them.
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            let name = names?[index].map { String(cString: $0) }
            listeners.append(SocketListener(fileDescriptor: descriptor, path: SocketAddress.boundPath(of: descriptor), name: name))
        }
        return listeners
    }

    private static func freeNames(_ names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, count: Int) {
        guard let names else { return }
        for index in 0..<count { free(names[index]) }
        free(names)
    }
}
