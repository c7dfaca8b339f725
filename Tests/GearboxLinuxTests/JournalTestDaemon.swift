import Foundation
import GearboxLinux
import Glibc

/// A real systemd-journald for tests: the host's when one answers on
/// /run/systemd/journal/socket, else one started by a test (needs root).
///
/// Several suites, or several test processes, may use it at once. They agree through
/// flock(2) on a lock file: each user holds a shared lock while it logs; starting takes
/// the exclusive lock; the last user to leave (the one that can take the lock exclusively)
/// stops the journald a test started, found through the pid file, and removes the socket
/// files it left behind, so that the machine is as it was. A host journald is never stopped.
enum JournalTestDaemon {
    static let binary = "/lib/systemd/systemd-journald"
    static let socketDirectory = "/run/systemd/journal"
    static let lockPath = "/run/gearbox-test-journald.lock"
    static let pidPath = "/run/gearbox-test-journald.pid"

    /// Runs `body` while a journald answers.
    static func withJournal<T>(_ body: () throws -> T) throws -> T {
        let lock = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw JournalTestError.lockFailed(errno) }
        defer { leave(lock) }
        flock(lock, LOCK_EX)
        if !JournalLogging.journalIsReachable() {
            try start()
        }
        flock(lock, LOCK_SH)
        return try body()
    }

    private static func start() throws {
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: binary)
        daemon.standardOutput = FileHandle.nullDevice
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        try "\(daemon.processIdentifier)\n".write(toFile: pidPath, atomically: true, encoding: .utf8)
        guard waitUntil(timeout: .seconds(60), { JournalLogging.journalIsReachable() }) else {
            throw JournalTestError.journaldDidNotStart
        }
    }

    private static func leave(_ lock: Int32) {
        defer { close(lock) }
        // Another user still holds a shared lock: it will be the one to stop journald.
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { return }
        guard let text = try? String(contentsOfFile: pidPath, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return }
        unlink(pidPath)
        // The pid file may be stale (a crashed run, a reused pid): only a journald is stopped.
        let command = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
        guard command.hasPrefix("systemd-journal") else { return }
        kill(pid, SIGTERM)
        if !waitUntil(timeout: .seconds(5), { !JournalLogging.journalIsReachable() }) {
            kill(pid, SIGKILL)
            _ = waitUntil(timeout: .seconds(2)) { !JournalLogging.journalIsReachable() }
        }
        // journald leaves its sockets behind; a later reader would take them for a live journal.
        for name in ["socket", "stdout", "dev-log", "io.systemd.journal"] {
            unlink(socketDirectory + "/" + name)
        }
    }

    /// The entries whose `field` equals `value`, read with `journalctl -o json`, polling
    /// until `count` arrived or 60 s passed (a loaded journald is slow). Values are decoded to
    /// text (journalctl prints binary-unsafe values as byte arrays).
    static func entries(field: String, value: String, count: Int) throws -> [[String: String]] {
        var found: [[String: String]] = []
        _ = waitUntil(timeout: .seconds(60)) {
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
    case lockFailed(Int32)
}
