import Foundation
import GearboxCore
import GearboxLinux
import Testing

/// The cpufreq and cpuset state files: what a restore after a crash depends on.
@Suite struct StateFileTests {
    @Test("a snapshot saved is the snapshot loaded; no file is nil; junk and oversized files are errors naming the file")
    func policyStateFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = PolicyStateFile(path: directory.file("cpufreq-state.json"))
        #expect(try file.load() == nil)
        var snapshot = PolicySnapshot(clean: false, pid: 4242, bootID: "b-1", domains: [
            .init(name: "policy0", cpus: [0, 1], governor: "schedutil", minimum: Kilohertz(1_200_000),
                  maximum: Kilohertz(2_601_000), setspeed: nil),
        ])
        snapshot.tunables = ["/sys/devices/system/cpu/cpufreq/boost": "1"]
        try file.save(snapshot)
        #expect(try file.load() == snapshot)

        try "{\"clean\": tru".write(toFile: file.path, atomically: false, encoding: .utf8)
        let junk = #expect(throws: PolicyStateError.self) { try file.load() }
        #expect(junk?.description.hasPrefix("\(file.path): not a gearbox state file") == true, "\(String(describing: junk))")

        // Valid JSON, but far larger than any snapshot: refused before it is parsed.
        let huge = "{\"pad\": \"" + String(repeating: "x", count: 5 << 20) + "\"}"
        try huge.write(toFile: file.path, atomically: false, encoding: .utf8)
        let oversized = #expect(throws: PolicyStateError.self) { try file.load() }
        #expect(oversized?.description == "\(file.path): larger than 4 MiB")
    }

    @Test("the cpuset state file keeps a service's cgroup path as written (no escaped slashes) and reads it back")
    func confinementStateFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = ConfinementStateFile(directory: directory.path)
        #expect(try file.load() == nil)
        let snapshot = ConfinementSnapshot(clean: false, pid: 7, bootID: nil, services: [
            SavedConfinement(mechanism: .cgroup2, target: "/sys/fs/cgroup/system.slice/web.service", cpus: "0-3"),
        ])
        try file.save(snapshot)
        #expect(try file.load() == snapshot)
        let text = try String(contentsOfFile: file.path, encoding: .utf8)
        #expect(text.contains("\"/sys/fs/cgroup/system.slice/web.service\""), "\(text)")
    }
}
