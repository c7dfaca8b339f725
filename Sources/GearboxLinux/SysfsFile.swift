#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Small attribute files of sysfs and procfs, read and written with the errno kept.
///
/// Only for what libcpufreq does not cover (cpu_capacity, online, topology, EPP, powercap,
/// /proc) and for naming the cause when a libcpufreq call fails.
enum SysfsFile {
    /// The whole file as text; `/proc/stat` can be longer than a page, so read to the end.
    static func read(_ path: String) throws(LinuxIOError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LinuxIOError(path: path, operation: .read, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LinuxIOError(path: path, operation: .read, errno: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads the whole file into the front of `buffer` and returns how many bytes it has. The
    /// buffer only grows (doubling when the file does not fit), so a file read every tick
    /// allocates nothing once the buffer has reached the file's size.
    static func read(_ path: String, into buffer: inout [UInt8]) throws(LinuxIOError) -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LinuxIOError(path: path, operation: .read, errno: errno) }
        defer { close(fd) }
        return try read(descriptor: fd, path: path, positioned: false, into: &buffer)
    }

    /// Reads `descriptor` to its end into the front of `buffer`: from where it stands, or with
    /// `positioned` from offset 0 by `pread`.
    static func read(descriptor fd: Int32, path: String, positioned: Bool, into buffer: inout [UInt8]) throws(LinuxIOError) -> Int {
        if buffer.count < 4096 { buffer = [UInt8](repeating: 0, count: 4096) }
        var used = 0
        while true {
            if used == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
            let n = buffer.withUnsafeMutableBytes { bytes in
                positioned ? pread(fd, bytes.baseAddress! + used, bytes.count - used, off_t(used))
                    : Glibc.read(fd, bytes.baseAddress! + used, bytes.count - used)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw LinuxIOError(path: path, operation: .read, errno: errno)
            }
            if n == 0 { return used }
            used += n
        }
    }

    /// The file's text without surrounding whitespace, or nil when it cannot be read.
    static func readTrimmed(_ path: String) -> String? {
        (try? read(path)).map { $0.trimmingWhitespace() }
    }

    /// Writes `value` as one store, as `echo value > path` does.
    static func write(_ value: String, to path: String) throws(LinuxIOError) {
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw LinuxIOError(path: path, operation: .write, errno: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n < 0 { throw LinuxIOError(path: path, operation: .write, errno: errno) }
        if n != bytes.count { throw LinuxIOError(path: path, operation: .write, errno: EIO) }
    }

    /// Creates a directory and its parents, like `mkdir -p`.
    static func makeDirectories(_ path: String) throws(LinuxIOError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw LinuxIOError(path: prefix, operation: .write, errno: errno)
            }
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Entry names of a directory (without "." and ".."), or nil when it cannot be listed.
    static func list(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The target of a symbolic link, or nil when `path` is not one.
    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A procfs or sysfs file read again and again through one descriptor: each read starts at
/// offset 0 (`pread`), which makes the kernel generate the file afresh, so the open, the path
/// walk and the kernel's buffer for the text are paid once. Only for files the kernel keeps
/// in place (`/proc/stat`): a file replaced by another (a rename over it) would be read as it
/// was. A failed read closes the descriptor, and the next read opens the path again.
public final class KeptOpenFile: @unchecked Sendable {
    // `descriptor` is only touched by the owner's calls, which the owner serialises (the
    // agent's host is an actor).
    public let path: String
    private var descriptor: Int32 = -1

    public init(path: String) { self.path = path }

    deinit { if descriptor >= 0 { _ = close(descriptor) } }

    /// Reads the whole file into the front of `buffer` (grown as `SysfsFile.read(_:into:)`
    /// grows it) and returns how many bytes it has.
    public func read(into buffer: inout [UInt8]) throws(LinuxIOError) -> Int {
        if descriptor < 0 {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw LinuxIOError(path: path, operation: .read, errno: errno) }
        }
        do {
            return try SysfsFile.read(descriptor: descriptor, path: path, positioned: true, into: &buffer)
        } catch {
            _ = close(descriptor)
            descriptor = -1
            throw error
        }
    }
}
