#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Write-and-rename, the usual way to replace a file that others read at any moment (the
/// plan, the metrics textfile, the state file): written beside the target under a hidden
/// temporary name, then renamed over it. A failed write removes the temporary file (a full
/// filesystem leaves nothing behind) and the old file stays as it was.
public enum AtomicFile {
    /// Writes `text` to `path`, creating its directory when needed. `durable` also syncs the
    /// data to disk before the rename, and the directory after it, so that the rename itself
    /// is on disk (the state file must survive a power cut; the plan and metrics files are
    /// rewritten every tick and need not).
    public static func write(_ text: String, to path: String, durable: Bool = false, mode: mode_t = 0o644) throws(LinuxIOError) {
        let directory = FilePath.parentDirectory(path)
        if !directory.isEmpty { try SysfsFile.makeDirectories(directory) }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let temporary = (directory.isEmpty ? "" : directory + "/") + ".\(name).\(getpid()).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw LinuxIOError(path: temporary, operation: .write, errno: errno) }
        var failure = writeAll(Array(text.utf8), to: descriptor)
        if failure == 0 && durable && fsync(descriptor) != 0 { failure = errno }
        close(descriptor)
        if failure == 0 && rename(temporary, path) == 0 {
            if durable { syncDirectory(directory.isEmpty ? "." : directory) }
            return
        }
        let code = failure != 0 ? failure : errno
        unlink(temporary)
        throw LinuxIOError(path: failure != 0 ? temporary : path, operation: .write, errno: code)
    }

    /// fsync of a directory, so that a rename in it survives a power cut. The file is in place
    /// whether or not this succeeds, so a failure is not an error of the write.
    private static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
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
