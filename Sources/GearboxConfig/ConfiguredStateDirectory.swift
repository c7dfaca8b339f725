import GearboxCore

/// Where a config file says the state directory is, read as leniently as possible.
///
/// Restoring the original cpufreq settings must never depend on the config being valid: a CPU
/// that went offline or a typo elsewhere in the file makes the config invalid, yet the saved
/// settings must still come back. So this reads nothing but `[agent] state_directory`: from
/// the parsed TOML when the file parses, else from the first line of the `[agent]` table that
/// reads `state_directory = "…"` (a file broken elsewhere still names its directory).
public enum ConfiguredStateDirectory {
    /// The config's `state_directory`, or nil when the file is missing, unreadable or names
    /// none (the caller then uses the default directory).
    public static func lookUp(configPath path: String) -> String? {
        guard let text = try? FileText.read(path) else { return nil }
        if let root = try? TOMLParser.parse(text) {
            guard case .table(let agent)? = root["agent"]?.value,
                  case .string(let directory)? = agent["state_directory"]?.value,
                  !directory.isEmpty else { return nil }
            return directory
        }
        return scan(text)
    }

    /// The line-by-line fallback: a basic string (no escapes) on a `state_directory` line
    /// inside `[agent]`.
    static func scan(_ text: String) -> String? {
        var inAgent = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingWhitespace()
            if line.hasPrefix("[") {
                inAgent = line.replacingSpaces() == "[agent]"
                continue
            }
            guard inAgent, line.hasPrefix("state_directory") else { continue }
            let rest = line.dropFirst("state_directory".count).trimmingWhitespace()
            guard rest.hasPrefix("=") else { continue }
            let value = rest.dropFirst().trimmingWhitespace()
            guard value.hasPrefix("\""), let close = value.dropFirst().firstIndex(of: "\"") else { continue }
            let directory = String(value[value.index(after: value.startIndex)..<close])
            guard !directory.isEmpty, !directory.contains("\\") else { return nil }
            return directory
        }
        return nil
    }
}

private extension StringProtocol {
    func replacingSpaces() -> String { String(filter { $0 != " " && $0 != "\t" }) }
}
