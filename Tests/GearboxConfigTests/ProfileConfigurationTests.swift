import GearboxCore
import Testing
@testable import GearboxConfig

@Suite struct ProfileConfigurationTests {
    @Test func readsSourcesThresholdAndPerProfileSettings() throws {
        let text = """
            [profile]
            dbus = false
            power_supply = "/tmp/ps"
            [profile.ac]
            profile = "performance"
            [profile.battery]
            profile = "power-saver"
            low_profile = "power-saver"
            low_percent = 15
            [profile.performance]
            top_speed = true
            epp = "balance_performance"
            [profile.power-saver]
            latency_factor = 3
            max_utilization = 0.9
            boost = true
            """
        let c = try AgentConfigurationFile.parse(text, file: "g.toml", platform: WorkloadFileTests.platform).profiles
        #expect(!c.dbus && c.powerSupplyDirectory == "/tmp/ps")
        #expect(c.profile(for: .ac) == .performance && c.profile(for: .battery) == .powerSaver && c.lowBatteryPercent == 15)
        #expect(c.settings(for: .performance).topSpeed && c.settings(for: .performance).energyPreference == .balancePerformance)
        // Keys not given keep their defaults.
        #expect(c.settings(for: .performance).latencyFactor == ProfileSettings.defaults(for: .performance).latencyFactor)
        #expect(c.settings(for: .powerSaver) == ProfileSettings(latencyFactor: 3, maxUtilization: 0.9, boost: true,
                                                                energyPreference: .balancePower, topSpeed: false))
        #expect(c.settings(for: .balanced) == ProfileSettings.defaults(for: .balanced))
    }

    @Test(arguments: [
        ("[profile.ac]\nprofile = \"turbo\"", 2, "profile.ac.profile", "must be one of power-saver, balanced, performance"),
        ("[profile.battery]\nlow_percent = 120", 2, "profile.battery.low_percent", "between 0 and 100"),
        ("[profile.balanced]\nlatency_factor = 0", 2, "profile.balanced.latency_factor", "between 0.1 and 10"),
        ("[profile.balanced]\nepp = \"fast\"", 2, "profile.balanced.epp", "must be one of power, balance_power"),
        ("[profile.quiet]\nboost = false", 1, "profile.quiet", "unknown field"),
    ])
    func refusesMistakes(text: String, line: Int, field: String, message: String) {
        #expect {
            try AgentConfigurationFile.parse(text, file: "g.toml", platform: WorkloadFileTests.platform)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.line == line && error.field == field && error.message.contains(message)
        }
    }
}
