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

/// Write-and-rename, the usual way to replace a file that others read at any moment. The
/// temporary file is removed whenever the write fails (a full filesystem leaves nothing
/// behind), and the old file stays as it was.
public enum AtomicFile {
    public static func write(_ text: String, to path: String) throws {
        let directory = FilePath.parentDirectory(path)
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let temporary = (directory.isEmpty ? "" : directory + "/") + ".\(name).\(getpid()).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let code = writeAll(Array(text.utf8), to: descriptor)
        close(descriptor)
        if code == 0 && rename(temporary, path) == 0 { return }
        let failure = code != 0 ? code : errno
        unlink(temporary)
        throw POSIXError(POSIXErrorCode(rawValue: failure) ?? .EIO)
    }

    /// Writes every byte (a short write is continued); returns 0 or the errno that stopped it.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return n < 0 ? errno : EIO
            }
        }
        return 0
    }
}
