import Foundation
import Glibc
import Testing

/// gearboxd.service and gearboxd.socket loaded, unchanged, into a real systemd booted as
/// PID 1 of private namespaces (Tests/Support/systemd-sandbox/boot.sh), with only ExecStart=
/// replaced by a script that tries gearboxd's reads and writes and then execs the Swift
/// probe: the sandbox must let the cpufreq tree through and keep the rest read-only. The probe
/// runs from a copy in the sandbox's /run, so the checkout may lie where the unit hides
/// (/home, /tmp).
@Suite(
    .enabled(if: runningAsRoot, "needs root to boot systemd in namespaces"),
    .enabled(if: FileManager.default.isExecutableFile(atPath: SystemdSandbox.systemd), "systemd is not installed"),
    .enabled(if: SystemdSandbox.cgroupParent != nil, "no writable cgroup2 hierarchy to boot systemd in")
)
struct SystemdUnitSandboxTests {
    @Test func sandboxAllowsCpufreqWritesAndLittleElse() throws {
        let report = try SystemdSandbox.run()
        func value(_ key: String) -> String? { report[key] }
        #expect(value("socket_mode") == "srw-rw-rw-", "\(report)")
        #expect(value("start_status") == "0", "Type=notify start needs READY=1 from the probe")
        #expect(value("result") == "success")
        #expect(value("exec_main_status") == "0")
        #expect(value("status_text") == "probe stopping")
        #expect(value("socket_after_stop") == "present", "RuntimeDirectoryPreserve keeps the socket unit's file")
        #expect(value("cpufreq_write") == "ok")
        #expect(value("fixture_now") == "408000")
        #expect(value("other_sys_write") == "refused")
        #expect(value("etc_write") == "refused")
        #expect(value("etc_file") == nil)
        #expect(value("state_write") == "ok")
        #expect(value("proc_stat") == "ok")
        #expect(value("uid") == "0")
        #expect(value("cap_eff") == "0000000000000000")
        #expect(value("cap_bnd") == "0000000000000000")
        #expect(value("no_new_privs") == "1")
        #expect(value("seccomp") == "2", "the system call filter is on")
        #expect(value("watchdog_timeout_us") == "10000000")
        let exposure = try #require(value("online_exposure").flatMap { Double($0) }, "\(report)")
        print("systemd-analyze security gearboxd.service (loaded in systemd): \(exposure)")
        #expect(exposure <= 2.0)
    }
}

enum SystemdSandbox {
    static let systemd = "/lib/systemd/systemd"
    static let support = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Support/systemd-sandbox").path
    static let units = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("systemd").path

    /// The directory of this process's cgroup in a writable cgroup2 mount, where the
    /// sandbox's own cgroup is made.
    static var cgroupParent: String? {
        guard let mountinfo = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8),
              let membership = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8),
              let line = membership.split(separator: "\n").first(where: { $0.hasPrefix("0::") })
        else { return nil }
        let ownPath = String(line.dropFirst(3))
        for mount in mountinfo.split(separator: "\n") {
            let halves = mount.components(separatedBy: " - ")
            guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { continue }
            let fields = halves[0].split(separator: " ")
            guard fields.count >= 6, fields[3] == "/", !fields[5].split(separator: ",").contains("ro") else { continue }
            let directory = String(fields[4]) + (ownPath == "/" ? "" : ownPath)
            if access(directory, W_OK) == 0 { return directory }
        }
        return nil
    }

    /// Boots, runs check.sh inside, tears down; the KEY=VALUE lines check.sh printed.
    static func run() throws -> [String: String] {
        let parent = try #require(cgroupParent)
        let cgroup = parent + "/gearbox-sandbox-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let boot = try Child("/bin/sh", [support + "/boot.sh", cgroup])
        var systemdPID: pid_t = 0
        defer {
            if systemdPID > 0 { kill(systemdPID, SIGKILL) }
            _ = boot.finish(timeout: .seconds(5))
            removeCgroupTree(cgroup)
        }
        let booted = waitUntil(timeout: .seconds(120)) {
            let text = (try? String(contentsOfFile: cgroup + "/init.scope/cgroup.procs", encoding: .utf8)) ?? ""
            guard let pid = text.split(separator: "\n").first.flatMap({ pid_t($0) }) else { return false }
            systemdPID = pid
            let state = try? Child.run("/usr/bin/nsenter", ["-t", "\(pid)", "-m", "-p", "systemctl", "is-system-running"])
            return ["running", "degraded"].contains(state?.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try #require(booted, "systemd did not come up: \(boot.process.isRunning ? "still booting" : "exited")")
        let check = try Child.run(
            "/usr/bin/nsenter", ["-t", "\(systemdPID)", "-m", "-p", support + "/check.sh", units, TestBinaries.probe],
            timeout: .seconds(180)
        )
        var report: [String: String] = [:]
        for line in check.standardOutput.split(separator: "\n") {
            // The probe's watchdog line holds two pairs; every other line one.
            let pairs = line.hasPrefix("watchdog_") ? line.split(separator: " ") : [line]
            for pair in pairs {
                guard let equals = pair.firstIndex(of: "=") else { continue }
                report[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
        }
        if check.status != 0 || check.timedOut { Issue.record("check.sh: \(check)") }
        return report
    }

    /// Removes a cgroup directory and its children, deepest first (rmdir is the only way).
    private static func removeCgroupTree(_ path: String) {
        _ = waitUntil(timeout: .seconds(5)) {
            let procs = (try? String(contentsOfFile: path + "/cgroup.procs", encoding: .utf8)) ?? ""
            return procs.isEmpty
        }
        let children = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for child in children {
            var status = stat()
            if stat(path + "/" + child, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR {
                removeCgroupTree(path + "/" + child)
            }
        }
        rmdir(path)
    }
}
