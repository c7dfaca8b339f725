import GearboxCore
import Testing
@testable import GearboxConfig

@Suite struct QueueConfinementTests {
    static let platform = WorkloadFileTests.platform

    static func config(_ extra: String, dispatch: String = "") -> String {
        """
        [[queue]]
        name = "web"
        arrival_rate = 100
        mean_work_ms = 2
        latency = { mean_ms = 10 }
        \(dispatch)
        \(extra)
        """
    }

    @Test func aUnitOrACgroupMakesTheQueueConfined() throws {
        let unit = try AgentConfigurationFile.parse(Self.config("unit = \"nginx.service\""), file: "g.toml", platform: Self.platform)
        #expect(unit.queues[0].confinement == .unit("nginx.service"))
        #expect(unit.queues[0].queue.confined)
        let cgroup = try AgentConfigurationFile.parse(Self.config("cgroup = \"/sys/fs/cgroup/web/\""), file: "g.toml", platform: Self.platform)
        #expect(cgroup.queues[0].confinement == .cgroup("/sys/fs/cgroup/web"))
        let plain = try AgentConfigurationFile.parse(Self.config(""), file: "g.toml", platform: Self.platform)
        #expect(plain.queues[0].confinement == nil && !plain.queues[0].queue.confined)
        let workload = try WorkloadFile.parse(Self.config("unit = \"web.slice\""), file: "w.toml", platform: Self.platform)
        #expect(workload.queues[0].confined)
    }

    @Test(arguments: [
        ("unit = \"nginx\"", "unit"),
        ("unit = \"a/b.service\"", "unit"),
        ("unit = \".service\"", "unit"),
        ("unit = \"\(String(repeating: "a", count: 300)).service\"", "unit"),
        ("cgroup = \"/tmp/x\"", "cgroup"),
        ("cgroup = \"/sys/fs/cgroup/\"", "cgroup"),
        ("cgroup = \"/sys/fs/cgroup/a/../../../etc\"", "cgroup"),
        ("cgroup = \"/sys/fs/cgroup/a/./b\"", "cgroup"),
        ("cgroup = \"/sys/fs/cgroup/a//b\"", "cgroup"),
        ("cgroup = \"/sys/fs/cgroup/\(String(repeating: "a", count: 1100))\"", "cgroup"),
        ("unit = \"a.service\"\ncgroup = \"/sys/fs/cgroup/a\"", "cgroup"),
        ("unit = 3", "unit"),
    ])
    func badConfinementIsRefusedNamingTheField(_ line: String, _ field: String) {
        do {
            _ = try AgentConfigurationFile.parse(Self.config(line), file: "g.toml", platform: Self.platform)
            Issue.record("accepted \(line)")
        } catch {
            #expect(error.field == "queue[1].\(field)", "\(error)")
            #expect(error.file == "g.toml" && error.line != nil)
        }
    }

    @Test func onlyRouteQueuesCanBeConfined() {
        #expect(throws: ConfigError.self) {
            try AgentConfigurationFile.parse(Self.config("unit = \"a.service\"", dispatch: "dispatch = \"fork-join\""),
                                             file: "g.toml", platform: Self.platform)
        }
    }
}
