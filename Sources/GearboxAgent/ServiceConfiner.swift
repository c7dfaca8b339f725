#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GearboxConfig
import GearboxCore
import GearboxLinux
import Logging
import Synchronization

/// Confines the services of queues that name a `unit` or `cgroup` to the CPUs their plan gives
/// them (docs/agent.md, "Confining a queue's service"). Each service's setting is saved to the
/// state file before its first change and put back on stop, when its queue leaves the plan or
/// the configuration, and by the next start after a crash. A dry run logs what it would do.
/// A failure is logged once (until it clears) and leaves the service as it was.
public final class ServiceConfiner: Sendable {
    /// Makes the mechanism for a service; replaced in tests.
    public typealias Discovery = @Sendable (QueueConfinement) throws(ConfinementError) -> any CPUConfinement

    let file: ConfinementStateFile
    let dryRun: Bool
    let logger: Logger
    let faults: FaultLog
    let discover: Discovery
    private let state = Mutex(State())

    struct State {
        /// Queue name → its service.
        var targets: [String: QueueConfinement] = [:]
        /// The services' saved originals, by service (a service two queues name is saved once).
        var saved: [QueueConfinement: SavedConfinement] = [:]
        /// Queue name → the CPUs its service is confined to (would be, in a dry run).
        var applied: [String: [Int]] = [:]
    }

    public init(stateDirectory: String, dryRun: Bool, logger: Logger, discover: @escaping Discovery = ServiceConfiner.discover) {
        file = ConfinementStateFile(directory: stateDirectory)
        self.dryRun = dryRun
        self.logger = logger
        faults = FaultLog(logger: logger)
        self.discover = discover
    }

    /// The mechanism Linux offers for a service: systemd's D-Bus API for a unit, the cpuset
    /// file of the cgroup's hierarchy (v2 or v1) for a cgroup.
    public static let discover: Discovery = { confinement throws(ConfinementError) in
        switch confinement {
        case .unit(let name): CPUConfinements.unit(name)
        case .cgroup(let path): try CPUConfinements.cgroup(path)
        }
    }

    /// Takes the configuration's queues; services no longer named get their CPUs back.
    public func configure(_ queues: [AgentQueue]) {
        let targets = Dictionary(queues.compactMap { q in q.confinement.map { (q.queue.name, $0) } }, uniquingKeysWith: { a, _ in a })
        let dropped = state.withLock { s -> [QueueConfinement] in
            for (queue, target) in s.targets where targets[queue] != target { s.applied[queue] = nil }
            s.targets = targets
            return s.saved.keys.filter { !targets.values.contains($0) }
        }
        for target in dropped { putBack(target) }
    }

    /// Confines each named service to the CPUs its queue's plan uses (a share above 0); a
    /// service whose queue is not in the plan (stale) gets its original CPUs back.
    public func apply(_ plan: Plan) {
        let (targets, applied) = state.withLock { ($0.targets, $0.applied) }
        for (queue, target) in targets.sorted(by: { $0.key < $1.key }) {
            guard let planned = plan.queues.first(where: { $0.name == queue }) else {
                if applied[queue] != nil { putBack(target) }
                continue
            }
            let cpus = planned.split.filter { $0.value > 0 }.keys.sorted()
            guard !cpus.isEmpty, applied[queue] != cpus else { continue }
            confine(queue: queue, target: target, to: cpus)
        }
    }

    /// Puts every changed service back; returns those that could not be (they stay in the
    /// state file for the next start or `gearboxd --restore`).
    @discardableResult
    public func restore() -> [String] {
        let targets = state.withLock { Array($0.saved.keys) }
        var failed: [String] = []
        for target in targets where !putBack(target) { failed.append(target.description) }
        return failed
    }

    /// Queue name → the CPUs its service is confined to now.
    public func applied() -> [String: [Int]] { state.withLock { $0.applied } }

    private func confine(queue: String, target: QueueConfinement, to cpus: [Int]) {
        let key = "confine:\(target)"
        let list = CPUList.format(cpus)
        guard !dryRun else {
            logger.info("dry run: would confine queue \(queue) (\(target)) to CPUs \(list)",
                        metadata: ["event": "confine", "queue": "\(queue)", "cpus": "\(list)"])
            state.withLock { $0.applied[queue] = cpus }
            return
        }
        let mechanism: any CPUConfinement
        do throws(ConfinementError) {
            mechanism = try discover(target)
            if state.withLock({ $0.saved[target] }) == nil { try save(target, mechanism.save()) }
        } catch {
            faults.report(key, "cannot confine queue \(queue): \(error); its service is left as it was")
            return
        }
        do throws(ConfinementError) {
            try mechanism.confine(to: cpus)
        } catch {
            faults.report(key, "cannot confine queue \(queue) to CPUs \(list) through \(mechanism.description): \(error); its service is left as it was")
            // A half-done change (a v2 controller enabled, the CPUs refused) is undone.
            if state.withLock({ $0.applied[queue] }) == nil { putBack(target) }
            return
        }
        faults.clear(key, "queue \(queue) is confined again")
        state.withLock { $0.applied[queue] = cpus }
        logger.info("queue \(queue) confined to CPUs \(list) (\(mechanism.description))",
                    metadata: ["event": "confine", "queue": "\(queue)", "cpus": "\(list)"])
    }

    /// Adds a service's original to the state file before anything of it is changed.
    private func save(_ target: QueueConfinement, _ original: SavedConfinement) throws(ConfinementError) {
        let services = state.withLock { s in s.saved.values.sorted { $0.target < $1.target } } + [original]
        do {
            try file.save(ConfinementSnapshot(clean: false, pid: getpid(), bootID: Self.bootID, services: services))
        } catch {
            throw ConfinementError("cannot save its original CPUs: \(error)")
        }
        state.withLock { $0.saved[target] = original }
    }

    /// Restores one service's original CPUs and rewrites the state file without it (clean
    /// when none is left). False when it could not be restored.
    @discardableResult
    private func putBack(_ target: QueueConfinement) -> Bool {
        guard let original = state.withLock({ $0.saved[target] }) else { return true }
        if dryRun { return true }
        do throws(ConfinementError) {
            try original.restore()
        } catch {
            faults.report("restore:\(target)", "cannot restore the CPUs of \(target): \(error)")
            return false
        }
        faults.clear("restore:\(target)", "the CPUs of \(target) are restored")
        let rest = state.withLock { s -> [SavedConfinement] in
            s.saved[target] = nil
            for (queue, t) in s.targets where t == target { s.applied[queue] = nil }
            return s.saved.values.sorted { $0.target < $1.target }
        }
        try? file.save(ConfinementSnapshot(clean: rest.isEmpty, pid: getpid(), bootID: Self.bootID, services: rest))
        logger.info("the CPUs of \(target) are restored to \(original.cpus.isEmpty ? "its parent's" : original.cpus)",
                    metadata: ["event": "restore"])
        return true
    }

    static var bootID: String? {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?.trimmingWhitespace()
    }
}
