#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `read(2)`, under a name the enum's own `read` does not hide.
private func readBytes(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

/// Reads a whole text file, turning failure into a one-line `ConfigError`.
public enum FileText {
    /// Longest configuration, platform or workload file read: gearbox's files are a few KB,
    /// and a 1024-CPU platform with one domain per CPU stays under 1 MB.
    public static let maximumBytes = 4 << 20

    /// The file's text, or a `ConfigError` saying why not ("no such file", "is a directory",
    /// "permission denied", "is larger than 4 MiB, the most gearbox reads", "is not UTF-8 text"). Reads at most
    /// `maximumBytes + 1` bytes, so a device or pipe that never ends cannot exhaust memory.
    public static func read(_ path: String, maximumBytes: Int = maximumBytes) throws(ConfigError) -> String {
        func fail(_ message: String) -> ConfigError { ConfigError(file: path, line: nil, field: nil, message: message) }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw fail(reason(errno)) }
        defer { close(descriptor) }
        var status = stat()
        if fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR { throw fail("is a directory, not a file") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count <= maximumBytes {
            let count = chunk.withUnsafeMutableBytes { readBytes(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw fail(reason(errno)) }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        guard bytes.count <= maximumBytes else {
            throw fail("is larger than \(maximumBytes >> 20) MiB, the most gearbox reads")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw fail("is not UTF-8 text") }
        return text
    }

    private static func reason(_ code: Int32) -> String {
        switch code {
        case ENOENT: "no such file"
        case EISDIR: "is a directory, not a file"
        case EACCES, EPERM: "cannot be read: permission denied"
        default: "cannot be read: \(String(cString: strerror(code))) (errno \(code))"
        }
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
