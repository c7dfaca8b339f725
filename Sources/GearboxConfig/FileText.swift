#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads a whole text file, turning failure into a one-line `ConfigError`.
enum FileText {
    static func read(_ path: String) throws(ConfigError) -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError(file: path, line: nil, field: nil, message: "no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, line: nil, field: nil, message: "cannot be read (permission?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: nil, field: nil, message: "is not UTF-8 text")
        }
        return text
    }

    /// Parses TOML text into a reader of its root table.
    static func parseTOML(_ text: String, file: String) throws(ConfigError) -> TableReader {
        do {
            return TableReader(try TOMLParser.parse(text), file: file, path: "")
        } catch {
            throw ConfigError(file: file, line: error.line, field: nil, message: error.message)
        }
    }
}
