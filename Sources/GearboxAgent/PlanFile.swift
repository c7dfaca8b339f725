#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GearboxControl
import GearboxCore

/// Publishes the plan to a file atomically: written beside the target, then renamed over it,
/// so a reader never sees half a plan (PRODUCT.md: `/run/gearbox/plan.json`).
public struct PlanFile: PlanPublishing {
    public var path: String

    public init(path: String) { self.path = path }

    public func publish(_ plan: Plan) throws {
        try AtomicFile.write(PlanDocument.json(plan).rendered(pretty: true) + "\n", to: path)
    }
}

/// Write-and-rename, the usual way to replace a file that others read at any moment.
public enum AtomicFile {
    public static func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        try Data(text.utf8).write(to: temporary)
        guard rename(temporary.path, path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: temporary)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
    }
}
