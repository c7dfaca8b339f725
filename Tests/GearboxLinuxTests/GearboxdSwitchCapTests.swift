import Foundation
import GearboxTestSupport
import Testing

/// `max_switches_per_second` reaches the agent's plans (docs/model.md, "A budget of
/// switches"): the built gearboxd, in a private mount namespace over the 8-CPU acpi-cpufreq
/// fixture, plans once in a dry run with and without a cap, and its published plan file says
/// how often its mixes switch.
@Suite(.serialized, .needsMountNamespace) struct GearboxdSwitchCapTests {
    /// The published plan of one `gearboxd --dry-run --once` with `agentLines` added to [agent].
    static func planOnce(agentLines: String) throws -> [String: Any] {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tree = try FixtureTree(fixture: "acpi-cpufreq-8cpu")
        defer { tree.remove() }
        let configPath = directory.file("gearbox.toml")
        // 800 requests/s of 2 ms on CPUs 0-3 (200 each): a 10 ms mean needs a speed between
        // the fixture's 1.4 and 1.6 GHz (M/M/1 means of 14.4 and 9.3 ms), so those domains mix.
        let config = GearboxdEndToEndTests.config
            .replacingOccurrences(of: "[agent]\n", with: "[agent]\n\(agentLines)\n")
            .replacingOccurrences(of: "arrival_rate = 400", with: "arrival_rate = 800")
            .replacingOccurrences(of: "STATE", with: directory.file("state"))
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let before = try tree.contents()
        let result = try NamespaceRunner.run(
            "gearboxd", ["--config", configPath, "--dry-run", "--once", "--log-to", "stderr"], cpuTree: tree.cpuRoot)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(try tree.contents() == before)
        return GearboxdEndToEndTests.readJSON(directory.file("state/plan.json"))
    }

    static func mixing(_ plan: [String: Any]) -> [[String: Any]] {
        (plan["domains"] as? [[String: Any]] ?? []).filter { $0["dither_period_ms"] is Double }
    }

    @Test func theCapBoundsThePublishedPlansSwitches() throws {
        let free = try Self.planOnce(agentLines: "")
        let freeRate = try #require(free["switches_per_second"] as? Double)
        let mixes = Self.mixing(free)
        try #require(!mixes.isEmpty && freeRate > 0, "the uncapped plan does not mix: nothing to cap")
        // By hand: two switches per dither period of each mixing domain.
        let byHand = mixes.reduce(0.0) { $0 + 2000 / ($1["dither_period_ms"] as! Double) }
        #expect(abs(freeRate - byHand) < 1e-6 * byHand)

        let capped = try Self.planOnce(agentLines: "max_switches_per_second = \(freeRate / 2)")
        #expect(capped["feasible"] as? Bool == true)
        let cappedRate = try #require(capped["switches_per_second"] as? Double)
        #expect(cappedRate <= freeRate / 2 * (1 + 1e-9))
        #expect((capped["power_watts"] as? Double ?? 0) >= (free["power_watts"] as? Double ?? .infinity) - 1e-9)
        let trimmed = (capped["domains"] as? [[String: Any]] ?? []).filter {
            ($0["fallback"] as? String)?.contains("switches/s") == true
        }
        #expect(!trimmed.isEmpty)
        #expect(trimmed.allSatisfy { $0["low_khz"] as? Int == $0["high_khz"] as? Int })

        let none = try Self.planOnce(agentLines: "max_switches_per_second = 0")
        #expect(none["switches_per_second"] as? Double == 0)
        #expect(Self.mixing(none).isEmpty)
        #expect((none["queues"] as? [[String: Any]] ?? []).allSatisfy { $0["met"] as? Bool == true })
    }
}
