import Foundation
import GearboxCore
import Testing
@testable import GearboxConfig

@Suite struct AgentConfigurationFileTests {
    static let platform = WorkloadFileTests.platform

    @Test func theShippedDefaultConfigEqualsTheBuiltInDefaults() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../configs/gearbox.toml").standardized.path
        let config = try AgentConfigurationFile.load(path: path, platform: Self.platform)
        #expect(config == AgentConfiguration())
    }

    @Test func readsEverySection() throws {
        let text = """
            [agent]
            tick_ms = 500
            max_utilization = 0.9
            max_switches_per_second = 2500
            [kernel]
            request_ms = 1
            latency = { p99_ms = 30 }
            [control]
            socket_mode = "0660"
            group = "wheel"
            [[queue]]
            name = "web"
            arrival_rate = 100
            mean_work_ms = 2
            latency = { mean_ms = 10 }
            [[queue]]
            name = "api"
            latency = { mean_ms = 10 }
            source = { prometheus = "http://127.0.0.1:9100/metrics", arrivals = "req_total", labels = { handler = "/api" } }
            """
        let config = try AgentConfigurationFile.parse(text, file: "g.toml", platform: Self.platform)
        #expect(config.tick == .milliseconds(500) && config.maxUtilization == 0.9)
        #expect(config.maxSwitchRate == 2500)
        #expect(config.kernelRequestWork == 0.001 && config.kernelTarget == LatencyTarget(kind: .p99, seconds: 0.03))
        #expect(config.controlSocketMode == 0o660 && config.controlGroup == "wheel")
        #expect(config.queues.count == 2 && config.queues[0].source == nil)
        #expect(config.queues[1].source?.location == .http("http://127.0.0.1:9100/metrics"))
        #expect(config.queues[1].source?.labels == ["handler": "/api"])
    }

    /// One mistake of every kind: type, range, unknown key, bad cpulist.
    @Test(arguments: [
        ("[agent]\ntick_ms = \"1s\"", 2, "agent.tick_ms", "expected a number"),
        ("[agent]\nmax_utilization = 1.5", 2, "agent.max_utilization", "must be in (0, 1)"),
        ("[agent]\ntick = 5", 2, "agent.tick", "unknown field"),
        ("[agent]\nmax_switches_per_second = -1", 2, "agent.max_switches_per_second", "must be between 0 and"),
        ("[agent]\nmax_switches_per_second = inf", 2, "agent.max_switches_per_second", "finite"),
        ("[[queue]]\nname = \"q\"\narrival_rate = 1\nmean_work_ms = 1\nlatency = { mean_ms = 9 }\ncpus = \"1-x\"", 6, "queue[1].cpus", "not a cpulist"),
        ("[control]\nsocket_mode = \"rw\"", 2, "control.socket_mode", "octal"),
        ("[kernel]\nlatency = { mean_ms = 1 }\nrequest_ms = 5", 2, "kernel.latency", "below the request size"),
        ("[network]\nport = 1", 1, "network", "unknown field"),
    ])
    func refusesEachKindOfMistake(text: String, line: Int, field: String, message: String) {
        #expect {
            try AgentConfigurationFile.parse(text, file: "g.toml", platform: Self.platform)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.line == line && error.field == field && error.message.contains(message)
        }
    }
}
