#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import GearboxCore

/// Direct reads of `/sys/devices/system/cpu` for what libcpufreq does not cover: which CPUs
/// exist and are online, `cpu_capacity`, topology, `energy_performance_preference`, the
/// policy a CPU links to, and the cause of a failed libcpufreq call.
public struct CPUSysfs: Sendable {
    /// `/sys/devices/system/cpu`; libcpufreq itself always uses that path.
    public var root: String

    public init(root: String = "/sys/devices/system/cpu") { self.root = root }

    /// CPUs the kernel knows: `present` when readable, else the `cpuN` directories.
    public func presentCPUs() -> [Int] {
        let directories = (SysfsFile.list(root) ?? []).compactMap(Self.cpuNumber(ofEntry:)).sorted()
        guard let text = SysfsFile.readTrimmed("\(root)/present"), let listed = try? CPUList.parse(text) else {
            return directories
        }
        let existing = Set(directories)
        return listed.filter { existing.contains($0) }
    }

    /// Whether `cpu` is online: `cpuN/online` when there is one (CPU 0 often has none),
    /// else the `online` list, else yes.
    public func isOnline(_ cpu: Int) -> Bool {
        if let flag = SysfsFile.readTrimmed("\(root)/cpu\(cpu)/online") { return flag != "0" }
        if let text = SysfsFile.readTrimmed("\(root)/online"), let online = try? CPUList.parse(text) {
            return online.contains(cpu)
        }
        return true
    }

    /// Whether `cpuN/cpufreq` is a directory (a link to the policy on current kernels).
    public func hasCPUFreq(_ cpu: Int) -> Bool {
        SysfsFile.isDirectory("\(root)/cpu\(cpu)/cpufreq")
    }

    /// `cpuN/cpu_capacity` (arm, arm64, riscv; recent x86 hybrids), or nil.
    public func capacity(of cpu: Int) -> Int? {
        SysfsFile.readTrimmed("\(root)/cpu\(cpu)/cpu_capacity").flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
    }

    /// `cpuN/cpufreq/energy_performance_preference` (intel_pstate, amd-pstate-epp), or nil.
    public func energyPerformancePreference(of cpu: Int) -> String? {
        SysfsFile.readTrimmed("\(root)/cpu\(cpu)/cpufreq/energy_performance_preference").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The policy directory's name (`policy4`) from the `cpuN/cpufreq` link, or nil on old
    /// kernels where `cpuN/cpufreq` is a directory of its own.
    public func policyName(of cpu: Int) -> String? {
        guard let target = SysfsFile.readLink("\(root)/cpu\(cpu)/cpufreq"),
              let last = target.split(separator: "/").last, last.hasPrefix("policy") else { return nil }
        return String(last)
    }

    /// Package, core and cluster ids from `cpuN/topology`, where present.
    public func topology(of cpu: Int) -> CPUTopology {
        let base = "\(root)/cpu\(cpu)/topology"
        func number(_ name: String) -> Int? { SysfsFile.readTrimmed("\(base)/\(name)").flatMap { Int($0) } }
        return CPUTopology(cpu: cpu, package: number("physical_package_id"), core: number("core_id"),
                           cluster: number("cluster_id"))
    }

    /// `scaling_setspeed` as a frequency, or nil when it reads `<unsupported>` (governor not userspace).
    public func setspeed(of cpu: Int) -> Kilohertz? {
        SysfsFile.readTrimmed("\(root)/cpu\(cpu)/cpufreq/scaling_setspeed").flatMap { Int($0) }.map(Kilohertz.init)
    }

    /// Why reading `cpuN/cpufreq/<file>` fails or gives nothing usable, for a libcpufreq
    /// call that returned nothing.
    public func diagnose(cpu: Int, file: String, numeric: Bool) -> CPUFreqError {
        if !isOnline(cpu) { return CPUFreqError(cpu: cpu, file: file, cause: .offline) }
        let path = "\(root)/cpu\(cpu)/cpufreq/\(file)"
        do {
            let text = try SysfsFile.read(path).trimmingWhitespace()
            if numeric && Int(text) == nil || text.isEmpty {
                return CPUFreqError(cpu: cpu, file: file, cause: .malformed(text: text))
            }
            return CPUFreqError(cpu: cpu, file: file, cause: .failed(code: 0))
        } catch {
            if error.errno == ENOENT || error.errno == ENOTDIR { return CPUFreqError(cpu: cpu, file: file, cause: .missing) }
            return CPUFreqError(cpu: cpu, file: file, cause: .refused(errno: error.errno))
        }
    }

    /// The first informative fault among several files (text files first), for a libcpufreq
    /// call that reads them together.
    public func diagnose(cpu: Int, numericFiles: [String], textFiles: [String] = []) -> CPUFreqError {
        let faults = textFiles.map { diagnose(cpu: cpu, file: $0, numeric: false) }
            + numericFiles.map { diagnose(cpu: cpu, file: $0, numeric: true) }
        return faults.first { if case .failed = $0.cause { false } else { true } } ?? faults[0]
    }

    /// Why `cpufreq_get_policy` (governor, min, max) returned nothing.
    public func diagnosePolicy(cpu: Int) -> CPUFreqError {
        diagnose(cpu: cpu, numericFiles: ["scaling_min_freq", "scaling_max_freq"], textFiles: ["scaling_governor"])
    }

    /// After libcpufreq failed to write `value` to `cpuN/cpufreq/<file>`: repeats the store
    /// once directly to learn the errno. Nil when the repeat succeeded.
    func explainWriteFailure(cpu: Int, file: String, value: String, libraryCode: Int) -> CPUFreqError? {
        let path = "\(root)/cpu\(cpu)/cpufreq/\(file)"
        do {
            try SysfsFile.write(value, to: path)
            return nil
        } catch {
            if error.errno == ENOENT || error.errno == ENOTDIR {
                return CPUFreqError(cpu: cpu, file: file, cause: isOnline(cpu) ? .missing : .offline, value: value)
            }
            return CPUFreqError(cpu: cpu, file: file, cause: .refused(errno: error.errno), value: value)
        }
    }

    /// The number of a `cpuN` directory entry, or nil for other entries (`cpufreq`, `cpuidle`).
    static func cpuNumber(ofEntry name: String) -> Int? {
        guard name.hasPrefix("cpu") else { return nil }
        let digits = name.dropFirst(3)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }
}

/// Where a CPU sits: package (socket), core, and cluster where the kernel reports them.
public struct CPUTopology: Hashable, Sendable {
    public var cpu: Int
    public var package: Int?
    public var core: Int?
    public var cluster: Int?
}
