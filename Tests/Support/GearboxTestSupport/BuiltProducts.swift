import Foundation

/// The folder holding this package's built executables (gearboxctl, gearboxd, the probes):
/// an ancestor of the running test bundle, found by looking for gearboxctl. One place for
/// every test target, so that they cannot disagree about which build they run.
public enum BuiltProducts {
    public static let directory: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("gearboxctl").path) { return url }
        }
        return repositoryRoot.appendingPathComponent(".build/debug")
    }()

    /// The path of the built executable `name`.
    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    public static var gearboxctl: String { path("gearboxctl") }
    public static var controlProbe: String { path("gearbox-control-probe") }

    /// The repository root (for configs/ and test fixtures).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../..").standardized
}
