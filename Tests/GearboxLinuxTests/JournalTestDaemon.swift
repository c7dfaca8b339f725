import Foundation
import GearboxLinux
import Glibc

/// A real systemd-journald for the tests: the host's when one answers on
/// /run/systemd/journal/socket, else one started here (needs root) and stopped afterwards.
enum JournalTestDaemon {
    static let binary = "/lib/systemd/systemd-journald"
    static let socketDirectory = "/run/systemd/journal"

    /// Runs `body` while a journald answers. Only the suite that uses it must be serialized:
    /// a journald this started is stopped, and its socket files removed, when `body` returns.
    static func withJournal<T>(_ body: () throws -> T) throws -> T {
        if JournalLogging.journalIsReachable() { return try body() }
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: binary)
        daemon.standardOutput = FileHandle.nullDevice
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        defer { stop(daemon) }
        guard waitUntil(timeout: .seconds(10), { JournalLogging.journalIsReachable() }) else {
            throw JournalTestError.journaldDidNotStart
        }
        return try body()
    }

    private static func stop(_ daemon: Process) {
        daemon.terminate()
        if !waitUntil(timeout: .seconds(5), { !daemon.isRunning }) {
            kill(daemon.processIdentifier, SIGKILL)
        }
        daemon.waitUntilExit()
        // journald leaves its sockets behind; a later reader would take them for a live journal.
        for name in ["socket", "stdout", "dev-log", "io.systemd.journal"] {
            unlink(socketDirectory + "/" + name)
        }
    }

    /// The entries whose `field` equals `value`, read with `journalctl -o json`, polling
    /// until `count` arrived or 5 s passed. Values are decoded to text (journalctl prints
    /// binary-unsafe values as byte arrays).
    static func entries(field: String, value: String, count: Int) throws -> [[String: String]] {
        var found: [[String: String]] = []
        _ = waitUntil(timeout: .seconds(5)) {
            _ = try? Child.run("/usr/bin/journalctl", ["--sync"])
            guard let result = try? Child.run("/usr/bin/journalctl", ["-o", "json", "--no-pager", "\(field)=\(value)"]) else {
                return false
            }
            found = result.standardOutput.split(separator: "\n").compactMap { decode(String($0)) }
            return found.count >= count
        }
        return found
    }

    private static func decode(_ line: String) -> [String: String]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        var entry: [String: String] = [:]
        for (key, value) in object {
            if let text = value as? String {
                entry[key] = text
            } else if let bytes = value as? [Int] {
                entry[key] = String(decoding: bytes.map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
            } else if let values = value as? [Any] {
                // A field given twice in one entry.
                entry[key] = values.map { "\($0)" }.joined(separator: "|")
            }
        }
        return entry
    }
}

enum JournalTestError: Error {
    case journaldDidNotStart
}
