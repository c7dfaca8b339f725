import Foundation
import GearboxConfig
import Testing

/// The state directory is found in a config however broken the rest of it is: restoring the
/// saved cpufreq settings must not depend on the config validating.
@Suite struct ConfiguredStateDirectoryTests {
    func lookUp(_ text: String) throws -> String? {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gearbox-state-\(UUID().uuidString).toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return ConfiguredStateDirectory.lookUp(configPath: path)
    }

    @Test func validConfig() throws {
        #expect(try lookUp("[agent]\ntick_ms = 100\nstate_directory = \"/srv/gearbox\"\n") == "/srv/gearbox")
    }

    @Test func configThatParsesButDoesNotValidate() throws {
        #expect(try lookUp("[agent]\ntick_ms = \"fast\"\nstate_directory = \"/srv/g\"\n[[queue]]\ncpus = \"0-9999\"\n") == "/srv/g")
    }

    @Test func configThatIsNotTOML() throws {
        let deep = String(repeating: "[", count: 40_000)
        #expect(try lookUp("[agent]\n  state_directory   =  \"/srv/x\"  # saved here\n[metrics]\nx = \(deep)\n") == "/srv/x")
        // Only the [agent] table's key counts.
        #expect(try lookUp("[metrics]\nstate_directory = \"/wrong\"\nx = \(deep)\n") == nil)
    }

    @Test func noDirectoryNamed() throws {
        #expect(try lookUp("[agent]\ntick_ms = 100\n") == nil)
        #expect(try lookUp("[agent]\nstate_directory = \"\"\n") == nil)
        #expect(ConfiguredStateDirectory.lookUp(configPath: "/nonexistent/gearbox.toml") == nil)
    }
}
