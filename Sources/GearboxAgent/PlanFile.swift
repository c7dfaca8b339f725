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
import GearboxLinux

/// Publishes the plan to a file atomically: written beside the target, then renamed over it,
/// so a reader never sees half a plan (docs/formats.md, "Plan JSON").
public struct PlanFile: PlanPublishing {
    public var path: String

    public init(path: String) { self.path = path }

    public func publish(_ plan: Plan) throws {
        try AtomicFile.write(PlanDocument.json(plan).rendered(pretty: true) + "\n", to: path)
    }
}
