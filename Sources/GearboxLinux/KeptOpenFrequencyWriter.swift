#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import GearboxCore

/// The writer the agent applies plans with: stores to `scaling_setspeed`,
/// `scaling_min_freq` and `scaling_max_freq` go through descriptors kept open, one `pwrite`
/// at offset 0 each (sysfs takes a store at offset 0 whole), its digits formatted on the stack. The dither stores thousands of times a second on a big host; libcpufreq
/// opens, writes and closes the file for each, and `cpufreq_set_frequency` first re-reads
/// the whole policy, which cost about a quarter of a core on a 96-CPU host. The governor is
/// still set through libcpufreq (rarely, and it checks what it writes), as are discovery,
/// saving and restoring.
///
/// A store that fails closes its descriptor; the cause is then learnt by repeating the store
/// on a fresh open (`CPUSysfs.explainWriteFailure`), so a CPU that went offline or a policy
/// that vanished is reported as such, and the next store opens the file again. At most
/// `maximumOpen` descriptors are kept (a service's default limit is 1,024 open files); beyond
/// that a store opens and closes its file.
public final class KeptOpenFrequencyWriter: CPUFrequencyWriter {
    let library: LibCPUFreq
    let sysfs: CPUSysfs
    private let descriptors: KeptOpenDescriptors

    public init(library: LibCPUFreq = LibCPUFreq(), sysfs: CPUSysfs = CPUSysfs(), maximumOpen: Int = 256) {
        self.library = library
        self.sysfs = sysfs
        descriptors = KeptOpenDescriptors(maximumOpen: maximumOpen)
    }

    var maximumOpen: Int { descriptors.maximumOpen }

    public var changesHardware: Bool { true }

    public func setGovernor(_ governor: String, cpu: Int) throws(CPUFreqError) {
        // A new governor may replace the policy's files (setspeed exists only under userspace).
        descriptors.forget(cpu: cpu)
        try library.setGovernor(governor, cpu: cpu)
    }

    public func setMinimum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) {
        try store(frequency, .minimum, cpu: cpu)
    }

    public func setMaximum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) {
        try store(frequency, .maximum, cpu: cpu)
    }

    public func setSpeed(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) {
        try store(frequency, .setspeed, cpu: cpu)
    }

    private func store(_ frequency: Kilohertz, _ attribute: CPUFreqAttribute, cpu: Int) throws(CPUFreqError) {
        let key = KeptOpenDescriptors.Key(cpu: cpu, attribute: attribute)
        let stored = descriptors.use(key, path: { "\(sysfs.root)/cpu\(cpu)/cpufreq/\(attribute.rawValue)" }, flags: O_WRONLY) {
            Self.write(frequency.value, to: $0) ? true : nil
        }
        if stored == true { return }
        if let error = sysfs.explainWriteFailure(cpu: cpu, file: attribute.rawValue, value: String(frequency.value), libraryCode: -1) {
            throw error
        }
    }

    /// One store: the value's decimal digits in one `pwrite` at offset 0 (one system call, no
    /// allocation; the dither makes thousands a second on a big host).
    static func write(_ value: Int, to descriptor: Int32) -> Bool {
        guard descriptor >= 0, value >= 0 else { return false }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var rest = value
            var start = digits.count
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0 && start > 0
            let count = digits.count - start
            return pwrite(descriptor, digits.baseAddress! + start, count, 0) == count
        }
    }
}
