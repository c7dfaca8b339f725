import Foundation
import Glibc

/// A private dbus-daemon standing in for the system bus: the shipped policy
/// (packaging/dbus/gearbox-power-profiles.conf) on top of the rules of Debian's system.conf
/// (method calls denied unless a policy allows them; only root owns names). Clients reach it
/// through DBUS_SYSTEM_BUS_ADDRESS. No polkitd runs on it, so gearboxd falls back to root and
/// the configured group.
final class PrivateSystemBus {
    static let daemon = "/usr/bin/dbus-daemon"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: daemon) }

    let directory: TemporaryDirectory
    let address: String
    private let child: Child

    /// `allowOwning`: extra names root may own (a stand-in for logind).
    init(allowOwning extra: [String] = []) throws {
        directory = try TemporaryDirectory()
        let socket = directory.file("system_bus_socket")
        let policy = FixtureTree.repositoryRoot.appendingPathComponent("packaging/dbus/gearbox-power-profiles.conf").path
        let owners = extra.map { "<allow own=\"\($0)\"/>" }.joined()
        let config = """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>system</type>
              <listen>unix:path=\(socket)</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/>
                <deny own="*"/>
                <deny send_type="method_call"/>
                <allow send_type="signal"/>
                <allow send_requested_reply="true" send_type="method_return"/>
                <allow send_requested_reply="true" send_type="error"/>
                <allow receive_type="method_call"/>
                <allow receive_type="method_return"/>
                <allow receive_type="error"/>
                <allow receive_type="signal"/>
                <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
                <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
              </policy>
              <policy user="root">\(owners)</policy>
              <include>\(policy)</include>
            </busconfig>
            """
        let configPath = directory.file("bus.conf")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        chmod(directory.path, 0o755)
        child = try Child(Self.daemon, ["--config-file=\(configPath)", "--nofork", "--nopidfile"])
        address = "unix:path=\(socket)"
        guard waitUntil(timeout: .seconds(30), { FileManager.default.fileExists(atPath: socket) }) else {
            kill(child.pid, SIGKILL)
            throw POSIXError(.ETIMEDOUT)
        }
        chmod(socket, 0o777)
    }

    /// The environment of a client of this bus.
    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["DBUS_SYSTEM_BUS_ADDRESS"] = address
        return env
    }

    /// Runs a client against the bus.
    func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(30)) throws -> ChildResult {
        try Child.run(executable, arguments, environment: environment, timeout: timeout)
    }

    func stop() {
        kill(child.pid, SIGTERM)
        _ = child.finish(timeout: .seconds(10))
        directory.remove()
    }
}
