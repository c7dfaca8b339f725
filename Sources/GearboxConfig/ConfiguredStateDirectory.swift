/// Where a config file says the state directory is, read as leniently as possible.
///
/// Restoring the original cpufreq settings must never depend on the config being valid: a CPU
/// that went offline or a typo elsewhere in the file makes the config invalid, yet the saved
/// settings must still come back. So this reads nothing but `[agent] state_directory`, and
/// only when the file parses as TOML; every other key, and every other check, is ignored.
public enum ConfiguredStateDirectory {
    /// The config's `state_directory`, or nil when the file is missing, unreadable, not TOML, or
    /// names none (the caller then uses the default directory).
    public static func lookUp(configPath path: String) -> String? {
        guard let text = try? FileText.read(path), let root = try? TOMLParser.parse(text) else { return nil }
        guard case .table(let agent)? = root["agent"]?.value,
              case .string(let directory)? = agent["state_directory"]?.value,
              !directory.isEmpty else { return nil }
        return directory
    }
}
