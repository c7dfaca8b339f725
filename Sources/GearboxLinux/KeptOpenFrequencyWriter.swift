#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import GearboxCore
import Synchronization

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
    public enum Attribute: String, Sendable {
        case setspeed = "scaling_setspeed"
        case minimum = "scaling_min_freq"
        case maximum = "scaling_max_freq"
    }

    struct Key: Hashable {
        var cpu: Int
        var attribute: Attribute
    }

    let library: LibCPUFreq
    let sysfs: CPUSysfs
    let maximumOpen: Int
    private let descriptors = Mutex<[Key: Int32]>([:])

    public init(library: LibCPUFreq = LibCPUFreq(), sysfs: CPUSysfs = CPUSysfs(), maximumOpen: Int = 256) {
        self.library = library
        self.sysfs = sysfs
        self.maximumOpen = maximumOpen
    }

    deinit {
        descriptors.withLock { open in
            for descriptor in open.values { _ = close(descriptor) }
            open.removeAll()
        }
    }

    public var changesHardware: Bool { true }

    public func setGovernor(_ governor: String, cpu: Int) throws(CPUFreqError) {
        // A new governor may replace the policy's files (setspeed exists only under userspace).
        forget(cpu: cpu)
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

    private func store(_ frequency: Kilohertz, _ attribute: Attribute, cpu: Int) throws(CPUFreqError) {
        let key = Key(cpu: cpu, attribute: attribute)
        if let descriptor = descriptors.withLock({ $0[key] }) {
            if Self.write(frequency.value, to: descriptor) { return }
            forget(key)
        } else {
            let descriptor = open("\(sysfs.root)/cpu\(cpu)/cpufreq/\(attribute.rawValue)", O_WRONLY | O_CLOEXEC)
            if descriptor >= 0 {
                let written = Self.write(frequency.value, to: descriptor)
                if !(written && keep(descriptor, for: key)) { _ = close(descriptor) }
                if written { return }
            }
        }
        if let error = sysfs.explainWriteFailure(cpu: cpu, file: attribute.rawValue, value: String(frequency.value), libraryCode: -1) {
            throw error
        }
    }

    /// Keeps `descriptor` for `key` when there is room; false when it must be closed.
    private func keep(_ descriptor: Int32, for key: Key) -> Bool {
        descriptors.withLock { open in
            guard open.count < maximumOpen, open[key] == nil else { return false }
            open[key] = descriptor
            return true
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

    private func forget(_ key: Key) {
        if let descriptor = descriptors.withLock({ $0.removeValue(forKey: key) }) { _ = close(descriptor) }
    }

    private func forget(cpu: Int) {
        let closing = descriptors.withLock { open -> [Int32] in
            let keys = open.keys.filter { $0.cpu == cpu }
            return keys.compactMap { open.removeValue(forKey: $0) }
        }
        for descriptor in closing { _ = close(descriptor) }
    }
}
