/// Reads the kernel's load counters: `/proc/stat` always, `/proc/schedstat` and
/// `/proc/pressure/cpu` when the kernel has them.
public struct KernelSampler: Sendable {
    /// `/proc`; tests point it at a recorded tree.
    public var procRoot: String

    public init(procRoot: String = "/proc") { self.procRoot = procRoot }

    /// One reading of every counter. Missing optional files give nil; a file that exists but
    /// does not parse is an error naming its line.
    public func sample() throws(KernelSampleError) -> KernelSample {
        let statPath = "\(procRoot)/stat"
        let stat: ProcStatSnapshot
        do {
            stat = try ProcStatSnapshot.parse(try SysfsFile.read(statPath), file: statPath)
        } catch let error as ProcParseError {
            throw .malformed(error)
        } catch let error as LinuxIOError {
            throw .unreadable(error)
        } catch {
            throw .unreadable(LinuxIOError(path: statPath, operation: .read, errno: 5))
        }
        return KernelSample(
            stat: stat,
            schedstat: try optional("\(procRoot)/schedstat") { text, file throws(ProcParseError) in
                try SchedstatSnapshot.parse(text, file: file)
            },
            pressure: try optional("\(procRoot)/pressure/cpu") { text, file throws(ProcParseError) in
                try CPUPressure.parse(text, file: file)
            })
    }

    /// `/proc/stat` alone, read into `buffer` (reused from call to call): what the agent needs
    /// every tick. With `file` (this sampler's `statFile()`), through a descriptor kept open.
    public func sampleStat(buffer: inout [UInt8], keptOpen file: KeptOpenFile? = nil) throws(KernelSampleError) -> ProcStatSnapshot {
        let statPath = "\(procRoot)/stat"
        let count: Int
        do {
            if let file { count = try file.read(into: &buffer) } else { count = try SysfsFile.read(statPath, into: &buffer) }
        } catch {
            throw .unreadable(error)
        }
        do {
            return try buffer.withUnsafeBufferPointer { bytes throws(ProcParseError) in
                try ProcStatSnapshot.parse(bytes: UnsafeBufferPointer(rebasing: bytes[0..<count]), file: statPath)
            }
        } catch {
            throw .malformed(error)
        }
    }

    /// `/proc/stat` to be read through one descriptor kept open (`sampleStat(buffer:keptOpen:)`).
    public func statFile() -> KeptOpenFile { KeptOpenFile(path: "\(procRoot)/stat") }

    private func optional<T>(
        _ path: String, _ parse: (String, String) throws(ProcParseError) -> T
    ) throws(KernelSampleError) -> T? {
        guard let text = try? SysfsFile.read(path) else { return nil }
        do { return try parse(text, path) } catch { throw .malformed(error) }
    }
}

/// One reading of the kernel's load counters.
public struct KernelSample: Hashable, Sendable {
    public var stat: ProcStatSnapshot
    /// Nil when the kernel has no CONFIG_SCHEDSTATS.
    public var schedstat: SchedstatSnapshot?
    /// Nil when the kernel has no PSI (or it is disabled).
    public var pressure: CPUPressure?
}

/// A kernel counter file that could not be read or parsed.
public enum KernelSampleError: Error, Hashable, Sendable, CustomStringConvertible {
    case unreadable(LinuxIOError)
    case malformed(ProcParseError)

    public var description: String {
        switch self {
        case .unreadable(let e): e.description
        case .malformed(let e): e.description
        }
    }
}
