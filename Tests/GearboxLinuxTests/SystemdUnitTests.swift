import Foundation
import Testing

/// The unit files under systemd/, checked with systemd's own tools.
@Suite struct SystemdUnitTests {
    static let analyze = "/usr/bin/systemd-analyze"
    static let unitDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("systemd").path
    static let service = unitDirectory + "/gearboxd.service"
    static let socket = unitDirectory + "/gearboxd.socket"
    static let installedBinary = "/usr/local/bin/gearboxd"

    /// The built gearboxd, or the probe when gearboxd was not built: any existing executable
    /// satisfies verify's check that ExecStart= can run.
    static var builtExecutable: String {
        let gearboxd = TestBinaries.directory + "/gearboxd"
        return FileManager.default.isExecutableFile(atPath: gearboxd) ? gearboxd : TestBinaries.probe
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: analyze), "systemd-analyze is not installed"))
    func verifyPassesWithoutWarnings() throws {
        // verify also checks that ExecStart= exists; point it at the built binary in a copy.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = try String(contentsOfFile: Self.service, encoding: .utf8)
        #expect(text.contains("ExecStart=\(Self.installedBinary)\n"))
        try text.replacingOccurrences(of: "ExecStart=\(Self.installedBinary)", with: "ExecStart=\(Self.builtExecutable)")
            .write(toFile: directory.file("gearboxd.service"), atomically: false, encoding: .utf8)
        try FileManager.default.copyItem(atPath: Self.socket, toPath: directory.file("gearboxd.socket"))
        // --man=no: Documentation= names man:gearboxd(8), which exists only once gearbox is installed.
        let result = try Child.run(Self.analyze, ["verify", "--man=no", directory.file("gearboxd.service"), directory.file("gearboxd.socket")])
        #expect(result.status == 0, "\(result)")
        #expect(result.standardError.isEmpty, "\(result.standardError)")
        #expect(result.standardOutput.isEmpty, "\(result.standardOutput)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: analyze), "systemd-analyze is not installed"))
    func verifyOnTheInstalledUnitsComplainsAtMostAboutTheMissingBinary() throws {
        let result = try Child.run(Self.analyze, ["verify", "--man=no", Self.service, Self.socket])
        if FileManager.default.isExecutableFile(atPath: Self.installedBinary) {
            #expect(result.status == 0 && result.standardError.isEmpty, "\(result)")
        } else {
            let complaints = result.standardError.split(separator: "\n").map(String.init)
            #expect(complaints == ["gearboxd.service: Command \(Self.installedBinary) is not executable: No such file or directory"])
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: analyze), "systemd-analyze is not installed"))
    func securityExposureStaysLow() throws {
        let result = try Child.run(Self.analyze, ["security", "--offline=true", "--no-pager", Self.service])
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        let overall = try #require(lines.first { $0.contains("Overall exposure level for gearboxd.service:") }, "\(result)")
        let score = try #require(
            overall.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }, "\(overall)"
        )
        print("systemd-analyze security --offline=true gearboxd.service: \(score)")
        #expect(score <= 2.0, "\(overall)")
        // The directives this unit must keep, however the score is weighted.
        for check in [
            "ProtectSystem=", "ProtectKernelTunables=", "ProtectHome=", "PrivateTmp=", "NoNewPrivileges=",
            "CapabilityBoundingSet=~CAP_SYS_ADMIN", "CapabilityBoundingSet=~CAP_(DAC_*|FOWNER|IPC_OWNER)",
            "RestrictAddressFamilies=~AF_PACKET", "SystemCallFilter=~@mount", "MemoryDenyWriteExecute=",
        ] {
            let line = lines.first { $0.dropFirst(2).hasPrefix(check) }
            #expect(line?.hasPrefix("✓") == true, "\(check): \(line ?? "missing")")
        }
    }

    @Test func unitsKeepTheirContract() throws {
        let service = try UnitFile(path: Self.service)
        #expect(service.values("Type") == ["notify"])
        #expect(service.values("ExecStart") == [Self.installedBinary])
        #expect(service.values("Restart") == ["on-failure"])
        #expect(!service.values("WatchdogSec").isEmpty)
        let conflicts = Set(service.values("Conflicts").flatMap { $0.split(separator: " ").map(String.init) })
        #expect(conflicts.isSuperset(of: ["tuned.service", "tlp.service", "auto-cpufreq.service"]))
        // gearboxd stands in for power-profiles-daemon (docs/laptops.md): a desktop activating
        // the power-profiles API over D-Bus must start gearboxd, not stop it.
        #expect(!conflicts.contains("power-profiles-daemon.service"))
        for name in ["org.freedesktop.UPower.PowerProfiles", "net.hadess.PowerProfiles"] {
            let activation = try String(contentsOfFile: FixtureTree.repositoryRoot.path + "/packaging/dbus/\(name).service", encoding: .utf8)
            #expect(activation.contains("Name=\(name)\n") && activation.contains("SystemdService=gearboxd.service\n"), "\(name)")
        }
        #expect(service.values("ReadWritePaths") == ["/sys/devices/system/cpu"])
        #expect(service.values("ProcSubset") != ["pid"], "kernel-only mode reads /proc/stat")
        #expect(service.values("RuntimeDirectory") == ["gearbox"])
        #expect(service.values("RuntimeDirectoryPreserve") == ["yes"], "the socket unit's file lives in /run/gearbox")
        #expect(service.values("StateDirectory") == ["gearbox"])

        let socket = try UnitFile(path: Self.socket)
        #expect(socket.values("ListenStream") == ["/run/gearbox/control.sock"])
        #expect(socket.values("SocketMode") == ["0666"])
        #expect(socket.values("Service") == ["gearboxd.service"])
    }
}

/// The `Key=value` assignments of a unit file, ignoring sections and comments.
struct UnitFile {
    let assignments: [(key: String, value: String)]

    init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        assignments = text.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.hasPrefix("#"), !trimmed.hasPrefix("["), let equals = trimmed.firstIndex(of: "=") else { return nil }
            return (String(trimmed[..<equals]), String(trimmed[trimmed.index(after: equals)...]))
        }
    }

    func values(_ key: String) -> [String] { assignments.filter { $0.key == key }.map(\.value) }
}
