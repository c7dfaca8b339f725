#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GearboxCore
import Logging

/// The CPU settings of confined services as gearbox found them, kept beside the cpufreq
/// settings (`/var/lib/gearbox/cpuset-state.json`) and undone the same way: on stop, and at the
/// next start or `gearboxd --restore` after a run that did not stop cleanly. `clean` is false
/// from the first change until every service is back.
public struct ConfinementSnapshot: Hashable, Sendable, Codable {
    public var format: Int = 1
    public var clean: Bool
    public var pid: Int32
    public var bootID: String?
    public var services: [SavedConfinement]

    public init(clean: Bool, pid: Int32, bootID: String?, services: [SavedConfinement]) {
        self.clean = clean
        self.pid = pid
        self.bootID = bootID
        self.services = services
    }

    enum CodingKeys: String, CodingKey {
        case format, clean, pid, services
        case bootID = "boot_id"
    }
}

/// Reads and writes the confinement snapshot atomically and durably.
public struct ConfinementStateFile: Sendable {
    public static let fileName = "cpuset-state.json"
    public var path: String

    public init(directory: String) { path = directory + "/" + Self.fileName }

    /// The snapshot, or nil when there is no file (or one larger than 4 MiB: an error).
    public func load() throws(PolicyStateError) -> ConfinementSnapshot? { try file.load() }

    /// Writes the snapshot atomically and durably.
    public func save(_ snapshot: ConfinementSnapshot) throws(PolicyStateError) { try file.save(snapshot) }

    private var file: JSONStateFile<ConfinementSnapshot> {
        JSONStateFile(path: path, kind: "gearbox cpuset state file", escapesSlashes: false)
    }

    /// At start: if the file shows a run that did not stop cleanly, puts every saved service
    /// back and marks the file clean (the same rules as the cpufreq state file).
    public func recoverUncleanStop(logger: Logger) -> PlanApplier.RecoveryOutcome {
        let found: ConfinementSnapshot?
        do {
            found = try load()
        } catch {
            logger.error("cannot read the cpuset state file: \(error)", metadata: ["gearbox.state_file": "\(path)"])
            return .failed(error.description)
        }
        guard var taken = found, !taken.clean else { return .nothingToRestore }
        if let saved = taken.bootID, let now = PolicyStateFile.currentBootID(), saved != now {
            taken.clean = true
            try? save(taken)
            return .staleFromEarlierBoot
        }
        if taken.pid != getpid() && kill(taken.pid, 0) == 0 {
            logger.error("gearbox process \(taken.pid) still holds the services' CPU settings; not restoring them",
                         metadata: ["gearbox.state_file": "\(path)"])
            return .heldByRunningProcess(pid: taken.pid)
        }
        logger.notice("restoring the CPUs of services confined by a run that did not stop cleanly (pid \(taken.pid))",
                      metadata: ["gearbox.state_file": "\(path)", "gearbox.event": "restore"])
        var failed: [SavedConfinement] = []
        for service in taken.services {
            do throws(ConfinementError) {
                try service.restore()
            } catch {
                logger.error("cannot restore the CPUs of \(service.target): \(error)", metadata: ["gearbox.event": "restore"])
                failed.append(service)
            }
        }
        let restored = taken.services.filter { !failed.contains($0) }.map(\.target)
        taken.services = failed
        taken.clean = failed.isEmpty
        do { try save(taken) } catch { return .failed(error.description) }
        guard failed.isEmpty else { return .failed("could not restore \(failed.map(\.target).joined(separator: ", "))") }
        return .restored(domains: restored)
    }
}
