#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A snapshot of settings kept on disk as JSON (the cpufreq and the cpuset state files):
/// read whole, at most `maximumBytes`, and written atomically and durably (a temporary file,
/// fsync, rename), so that a crash leaves the old snapshot or the new one, never half of one.
struct JSONStateFile<Snapshot: Codable>: Sendable {
    /// Far above any real snapshot (a few hundred bytes a domain or service); a larger file
    /// is not one of ours, and is refused before it is parsed.
    static var maximumBytes: Int { 4 << 20 }

    let path: String
    /// What the file is, for errors: "gearbox state file".
    let kind: String
    let escapesSlashes: Bool

    /// The snapshot, or nil when there is no file.
    func load() throws(PolicyStateError) -> Snapshot? {
        let text: String
        do {
            text = try SysfsFile.read(path)
        } catch {
            if error.errno == ENOENT { return nil }
            throw PolicyStateError(path: path, message: error.description)
        }
        guard text.utf8.count <= Self.maximumBytes else { throw PolicyStateError(path: path, message: "larger than 4 MiB") }
        do {
            return try JSONDecoder().decode(Snapshot.self, from: Data(text.utf8))
        } catch {
            throw PolicyStateError(path: path, message: "not a \(kind): \(error)")
        }
    }

    func save(_ snapshot: Snapshot) throws(PolicyStateError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = escapesSlashes ? [.prettyPrinted, .sortedKeys] : [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            let data = try encoder.encode(snapshot)
            try AtomicFile.write(String(decoding: data, as: UTF8.self) + "\n", to: path, durable: true)
        } catch let error as LinuxIOError {
            throw PolicyStateError(path: path, message: error.description)
        } catch {
            throw PolicyStateError(path: path, message: "\(error)")
        }
    }
}
