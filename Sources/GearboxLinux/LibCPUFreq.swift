import CCPUFreq
import GearboxCore

/// The real libcpufreq (Debian `libcpufreq-dev`): reads and writes `/sys/devices/system/cpu`.
///
/// libcpufreq 008 reads `cpuN/cpufreq/<file>` (the kernel links it to `cpufreq/policyM`) and
/// returns lists that must be given back with the matching `cpufreq_put_*`, which every
/// function here does. When a write fails libcpufreq falls back to `/proc/cpufreq` and
/// returns that path's error (-ENOSYS on current kernels), losing the kernel's errno; the
/// writer then repeats the store once directly to learn why (`CPUSysfs.explainWriteFailure`).
public struct LibCPUFreq: CPUFrequencyControl, CPUFrequencyWriter {
    let sysfs: CPUSysfs
    /// The governors read back every tick, kept open (`governor(cpu:)`).
    let governorFiles = KeptOpenDescriptors(maximumOpen: 256)

    public init(sysfs: CPUSysfs = CPUSysfs()) { self.sysfs = sysfs }

    public var changesHardware: Bool { true }

    public func driver(cpu: Int) -> String? {
        guard let cpuNumber = UInt32(exactly: cpu), let text = cpufreq_get_driver(cpuNumber) else { return nil }
        defer { cpufreq_put_driver(text) }
        return String(cString: text)
    }

    public func policy(cpu: Int) -> CPUFreqPolicy? {
        guard let cpuNumber = UInt32(exactly: cpu), let policy = cpufreq_get_policy(cpuNumber) else { return nil }
        defer { cpufreq_put_policy(policy) }
        guard let governor = policy.pointee.governor else { return nil }
        return CPUFreqPolicy(
            governor: String(cString: governor),
            minimum: Kilohertz(Int(clamping: policy.pointee.min)), maximum: Kilohertz(Int(clamping: policy.pointee.max)))
    }

    /// One file read directly (libcpufreq reads the governor only with the two limits), through
    /// a descriptor kept open: the agent reads it back for every userspace-governor domain in
    /// turn, eight a tick.
    public func governor(cpu: Int) -> String? {
        governorFiles.readTrimmed(.init(cpu: cpu, attribute: .governor), path: "\(sysfs.root)/cpu\(cpu)/cpufreq/scaling_governor")
            .flatMap { $0.isEmpty ? nil : $0 }
    }

    public func availableGovernors(cpu: Int) -> [String] {
        guard let cpuNumber = UInt32(exactly: cpu), let first = cpufreq_get_available_governors(cpuNumber) else { return [] }
        defer { cpufreq_put_available_governors(first) }
        var names: [String] = []
        var node: UnsafeMutablePointer<cpufreq_available_governors>? = first
        while let current = node {
            if let name = current.pointee.governor { names.append(String(cString: name)) }
            node = current.pointee.next
        }
        return names
    }

    public func availableFrequencies(cpu: Int) -> [Kilohertz] {
        guard let cpuNumber = UInt32(exactly: cpu), let first = cpufreq_get_available_frequencies(cpuNumber) else { return [] }
        defer { cpufreq_put_available_frequencies(first) }
        var values = Set<Int>()
        var node: UnsafeMutablePointer<cpufreq_available_frequencies>? = first
        while let current = node {
            if current.pointee.frequency > 0 { values.insert(Int(clamping: current.pointee.frequency)) }
            node = current.pointee.next
        }
        return values.sorted().map(Kilohertz.init)
    }

    public func hardwareLimits(cpu: Int) -> HardwareLimits? {
        guard let cpuNumber = UInt32(exactly: cpu) else { return nil }
        var minimum: UInt = 0, maximum: UInt = 0
        guard cpufreq_get_hardware_limits(cpuNumber, &minimum, &maximum) == 0,
              minimum > 0, maximum > 0, minimum < UInt(Int32.max), maximum < UInt(Int32.max) else { return nil }
        return HardwareLimits(minimum: Kilohertz(Int(minimum)), maximum: Kilohertz(Int(maximum)))
    }

    public func relatedCPUs(cpu: Int) -> [Int] {
        guard let cpuNumber = UInt32(exactly: cpu), let first = cpufreq_get_related_cpus(cpuNumber) else { return [] }
        defer { cpufreq_put_related_cpus(first) }
        return Self.cpus(from: first)
    }

    public func affectedCPUs(cpu: Int) -> [Int] {
        guard let cpuNumber = UInt32(exactly: cpu), let first = cpufreq_get_affected_cpus(cpuNumber) else { return [] }
        defer { cpufreq_put_affected_cpus(first) }
        return Self.cpus(from: first)
    }

    public func transitionLatencyNanoseconds(cpu: Int) -> Int? {
        guard let cpuNumber = UInt32(exactly: cpu) else { return nil }
        // 0 is libcpufreq's failure value and the kernel's "unknown"; CPUFREQ_ETERNAL is
        // (unsigned)-1; the /proc fallback returns a negative errno cast to unsigned long.
        let nanoseconds = cpufreq_get_transition_latency(cpuNumber)
        guard nanoseconds > 0, nanoseconds < UInt(UInt32.max) else { return nil }
        return Int(nanoseconds)
    }

    public func timeInState(cpu: Int) -> [FrequencyResidency] {
        guard let cpuNumber = UInt32(exactly: cpu) else { return [] }
        var total: UInt64 = 0
        guard let first = cpufreq_get_stats(cpuNumber, &total) else { return [] }
        defer { cpufreq_put_stats(first) }
        var rows: [FrequencyResidency] = []
        var node: UnsafeMutablePointer<cpufreq_stats>? = first
        while let current = node {
            rows.append(FrequencyResidency(
                frequency: Kilohertz(Int(clamping: current.pointee.frequency)), ticks: UInt64(current.pointee.time_in_state)))
            node = current.pointee.next
        }
        return rows.sorted { $0.frequency < $1.frequency }
    }

    public func currentFrequency(cpu: Int) -> Kilohertz? {
        guard let cpuNumber = UInt32(exactly: cpu) else { return nil }
        let value = cpufreq_get_freq_kernel(cpuNumber)
        guard value > 0, value < UInt(Int32.max) else { return nil }
        return Kilohertz(Int(value))
    }

    private static func cpus(from first: UnsafeMutablePointer<cpufreq_affected_cpus>) -> [Int] {
        var cpus: [Int] = []
        var node: UnsafeMutablePointer<cpufreq_affected_cpus>? = first
        while let current = node {
            cpus.append(Int(current.pointee.cpu))
            node = current.pointee.next
        }
        return Array(Set(cpus)).sorted()
    }
}

extension LibCPUFreq {
    public func setGovernor(_ governor: String, cpu: Int) throws(CPUFreqError) {
        let code = governor.withCString { name in
            cpufreq_modify_policy_governor(UInt32(clamping: cpu), UnsafeMutablePointer(mutating: name))
        }
        try check(code, cpu: cpu, file: "scaling_governor", value: governor)
    }

    public func setMinimum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) {
        let code = cpufreq_modify_policy_min(UInt32(clamping: cpu), UInt(clamping: frequency.value))
        try check(code, cpu: cpu, file: "scaling_min_freq", value: String(frequency.value))
    }

    public func setMaximum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) {
        let code = cpufreq_modify_policy_max(UInt32(clamping: cpu), UInt(clamping: frequency.value))
        try check(code, cpu: cpu, file: "scaling_max_freq", value: String(frequency.value))
    }

    public func setSpeed(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) {
        // cpufreq_set_frequency reads the policy, switches to userspace if needed, then
        // writes scaling_setspeed.
        let code = cpufreq_set_frequency(UInt32(clamping: cpu), UInt(clamping: frequency.value))
        try check(code, cpu: cpu, file: "scaling_setspeed", value: String(frequency.value))
    }

    private func check(_ code: Int32, cpu: Int, file: String, value: String) throws(CPUFreqError) {
        guard code != 0 else { return }
        // The store failed; libcpufreq's code says nothing about why. Learn the cause by
        // repeating the store once ourselves; if that one succeeds, the fault was transient.
        if let error = sysfs.explainWriteFailure(cpu: cpu, file: file, value: value, libraryCode: Int(code)) {
            throw error
        }
    }
}
