/// Why a cpufreq read or write of one CPU failed, naming the CPU and the file.
public struct CPUFreqError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, in the terms a person fixing it needs.
    public enum Cause: Hashable, Sendable {
        /// The kernel refused the write or the file could not be opened (errno kept).
        case refused(errno: Int32)
        /// The file holds something other than what sysfs documents (e.g. not a number).
        case malformed(text: String)
        /// The file is not there (the CPU went offline, the driver changed, or it never existed).
        case missing
        /// The CPU is offline, so its cpufreq files cannot be used.
        case offline
        /// libcpufreq reported failure and a direct look could not say more.
        case failed(code: Int)
    }

    public var cpu: Int
    /// The cpufreq attribute, e.g. `scaling_max_freq`.
    public var file: String
    public var cause: Cause
    /// The value that was being written, if any.
    public var value: String?

    public init(cpu: Int, file: String, cause: Cause, value: String? = nil) {
        self.cpu = cpu
        self.file = file
        self.cause = cause
        self.value = value
    }

    /// The errno behind the failure, when there is one.
    public var errno: Int32? {
        if case .refused(let e) = cause { return e }
        return nil
    }

    /// A key that is the same for repeats of the same fault, for logging each fault once.
    public var faultKey: String { "\(cpu)/\(file)/\(causeName)" }

    /// A short name of the cause: `EBUSY`, `malformed`, `missing`, `offline`, `failed`.
    public var causeName: String {
        switch cause {
        case .refused(let e): Errno.name(e)
        case .malformed: "malformed"
        case .missing: "missing"
        case .offline: "offline"
        case .failed: "failed"
        }
    }

    public var description: String {
        let path = "cpu\(cpu)/cpufreq/\(file)"
        let action = value.map { "writing \($0) to \(path)" } ?? "reading \(path)"
        switch cause {
        case .refused(let e): return "\(action): refused: \(Errno.message(e)) (\(Errno.name(e)))"
        case .malformed(let text): return "\(action): \"\(text)\" is not a valid value"
        case .missing: return "\(action): the file does not exist"
        case .offline: return "\(action): CPU \(cpu) is offline"
        case .failed(let code): return "\(action): libcpufreq failed (\(code))"
        }
    }
}
