import Foundation
import GearboxCore
import Testing

/// `--version` of both binaries and the version in plan documents: one version, from
/// GearboxCore's `GearboxVersion`, everywhere.
@Suite struct VersionCLITests {
    @Test(arguments: ["gearboxctl", "gearboxd"])
    func versionFlagPrintsTheVersionAlone(tool: String) throws {
        let result = try BuiltTool.run(tool, ["--version"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == GearboxVersion.string + "\n")
    }

    @Test func versionIsSemanticAndMatchesThePackageScript() throws {
        // scripts/package-deb reads the version from Version.swift's text with sed; the same
        // pattern here makes sure the file keeps the shape the script expects.
        let source = try String(contentsOf: BuiltTool.repositoryRoot.appendingPathComponent("Sources/GearboxCore/Version.swift"), encoding: .utf8)
        #expect(source.contains("static let string = \"\(GearboxVersion.string)\""))
        let parts = GearboxVersion.string.split(separator: ".")
        #expect(parts.count == 3 && parts.allSatisfy { Int($0) != nil })
    }

    @Test func planJSONNamesTheVersionThatMadeIt() throws {
        let result = try BuiltTool.run("gearboxctl", [
            "plan", "--platform", BuiltTool.example("server-8cpu.toml"),
            "--workload", BuiltTool.example("server-8cpu-low.toml"), "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["gearbox_version"] as? String == GearboxVersion.string)
    }
}
