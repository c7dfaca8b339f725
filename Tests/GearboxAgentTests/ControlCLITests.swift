import Foundation
import GearboxTestSupport
import GearboxControl
import Glibc
import Testing

/// The built gearboxctl against a real server process (the control probe: `ControlServer`
/// over a fixed host), as root, as an unprivileged user, and through systemd's socket activation.
@Suite(.serialized) struct ControlCLITests {
    static let activator = "/usr/bin/systemd-socket-activate"
    static let setpriv = "/usr/bin/setpriv"
    static let isRoot = getuid() == 0

    /// Starts the probe serving `path` with `group` allowed to change; returns it once the socket accepts.
    static func startProbe(_ path: String, group: String) async throws -> SpawnedChild {
        let probe = try SpawnedChild(BuiltProducts.controlProbe, [path, group])
        guard await eventually(timeout: 120, { acceptsConnections(path) }) else { throw POSIXError(.ETIMEDOUT) }
        return probe
    }

    /// SIGTERM, then what the child said and how it ended.
    static func stop(_ child: SpawnedChild) async -> ChildOutput {
        child.signal(SIGTERM)
        return await blocking { child.finish(timeout: 60) }
    }

    /// gearboxctl as uid/gid 65534 (nobody/nogroup) with no supplementary groups, or with `gid`.
    static func asNobody(gid: Int = 65534, _ arguments: [String]) async throws -> ChildOutput {
        try await runChild(setpriv, ["--reuid=65534", "--regid=\(gid)", "--clear-groups", BuiltProducts.gearboxctl] + arguments)
    }

    @Test(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: setpriv), "needs root and setpriv to act as another user"))
    func anotherUserReadsStatusButIsRefusedChanges() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let path = directory.file("control.sock")
        let probe = try await Self.startProbe(path, group: "adm")

        let status = try await Self.asNobody(["status", "--socket", path, "--json"])
        #expect(status.status == 0, "\(status)")
        let document = try JSONParser.parse(status.stdout)
        #expect(document["ok"]?.boolValue == true && document["mode"]?.stringValue == "probe")
        #expect(document["domains"]?.arrayItems?.count == 2)

        let table = try await Self.asNobody(["status", "--socket", path])
        #expect(table.status == 0)
        #expect(table.stdout.contains("policy0") && table.stdout.contains("web"), "\(table.stdout)")

        for change in [["override", "--host", "--mode", "performance"], ["resume"], ["reload"]] {
            let refused = try await Self.asNobody(change + ["--socket", path])
            #expect(refused.status == 1, "\(change): \(refused)")
            #expect(refused.stderr == "gearboxctl: permission denied: changes need root or group adm\n", "\(change)")
        }
        // A member of the group (its gid, as SO_PEERCRED reports it) may.
        let member = try await Self.asNobody(gid: 4, ["override", "--domain", "policy4", "--frequency-mhz", "1500", "--duration", "2s", "--socket", path])
        #expect(member.status == 0, "\(member)")
        #expect(member.stdout.hasPrefix("override 1 in force: domain policy4: 1500 MHz, for "), "\(member.stdout)")
        _ = await Self.stop(probe)
    }

    @Test func rootChangesAndBadRequestsExitAsPromised() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let path = directory.file("control.sock")
        let probe = try await Self.startProbe(path, group: "adm")
        let ctl = BuiltProducts.gearboxctl

        let pinned = try await runChild(ctl, ["override", "--cpus", "0-1", "--mode", "powersave", "--duration", "5m", "--socket", path, "--json"])
        #expect(pinned.status == 0, "\(pinned)")
        let answer = try JSONParser.parse(pinned.stdout)
        #expect(answer["override"]?["scope"]?["cpus"]?.stringValue == "0-1")
        #expect(answer["override"]?["mode"]?.stringValue == "powersave")
        let left = try #require(answer["override"]?["expires_in_s"]?.doubleValue)
        #expect(left > 299 && left <= 300)

        let status = try await runChild(ctl, ["status", "--socket", path])
        #expect(status.stdout.contains("pinned at 800 MHz"), "\(status.stdout)")
        #expect(status.stdout.contains("CPUs 0-1") && status.stdout.contains("powersave"), "\(status.stdout)")

        let unknown = try await runChild(ctl, ["override", "--domain", "policy9", "--mode", "auto", "--socket", path])
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "gearboxctl: no frequency domain named \"policy9\"; this host has policy0, policy4\n")

        let reload = try await runChild(ctl, ["reload", "--socket", path])
        #expect(reload.status == 1)
        #expect(reload.stderr.contains("probe.toml:3: field \"tick\""))

        let resume = try await runChild(ctl, ["resume", "--socket", path])
        #expect(resume.status == 0 && resume.stdout == "resumed: 1 override dropped.\n", "\(resume)")
        let stopped = await Self.stop(probe)
        #expect(stopped.status == 0 && stopped.stdout.hasSuffix("stopped\n"), "\(stopped)")
        #expect(!FileManager.default.fileExists(atPath: path), "the probe bound the socket, so stopping removes it")

        let gone = try await runChild(ctl, ["status", "--socket", path])
        #expect(gone.status == 1)
        #expect(gone.stderr == "gearboxctl: gearboxd is not running (no socket at \(path))\n")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: activator), "systemd-socket-activate is not installed"))
    func socketActivationHandsTheServerItsSocket() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let path = directory.file("control.sock")
        // The probe is told another path: it must serve the socket it was given, not bind its own.
        let activator = try SpawnedChild(Self.activator, ["-l", path, BuiltProducts.controlProbe, directory.file("unused.sock"), "adm"])
        #expect(await eventually(timeout: 120) { acceptsConnections(path) })

        let status = try await runChild(BuiltProducts.gearboxctl, ["status", "--socket", path])
        #expect(status.status == 0, "\(status)")
        #expect(status.stdout.hasPrefix("gearboxd (probe): planned 3.25 W"), "\(status.stdout)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("unused.sock")))

        // systemd-socket-activate execs the probe in its place: SIGTERM reaches the server.
        let said = await Self.stop(activator)
        #expect(said.status == 0, "\(said)")
        #expect(said.stdout == "listening activated=true path=\(path)\nstopped\n")
        #expect(FileManager.default.fileExists(atPath: path), "a socket systemd owns is not removed by the server")
    }
}
