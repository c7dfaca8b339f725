#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// The cpufreq attribute files the agent touches every tick, kept open between calls.
public enum CPUFreqAttribute: String, Sendable {
    case setspeed = "scaling_setspeed"
    case minimum = "scaling_min_freq"
    case maximum = "scaling_max_freq"
    case governor = "scaling_governor"
}

/// Descriptors of `cpuN/cpufreq/<attribute>` files kept open between calls, at most
/// `maximumOpen` of them (a service's default limit is 1,024 open files; beyond the bound a
/// caller opens and closes the file each time). On a host of 96 domains the dither stores
/// thousands of times a second and the read-back reads eight governors a tick: opening each
/// file by its path costs more than the store or read itself. A sysfs attribute is re-read
/// with `pread` at offset 0 and takes a store at offset 0 whole, so one descriptor serves
/// every call; a call that fails forgets its descriptor, and the next one opens the file again
/// (a policy that vanished and came back is a new file).
final class KeptOpenDescriptors: Sendable {
    struct Key: Hashable {
        var cpu: Int
        var attribute: CPUFreqAttribute
    }

    let maximumOpen: Int
    private let open = Mutex<[Key: Int32]>([:])

    init(maximumOpen: Int) { self.maximumOpen = maximumOpen }

    deinit {
        open.withLock { open in
            for descriptor in open.values { _ = close(descriptor) }
            open.removeAll()
        }
    }

    /// Runs `body` on the kept descriptor of `key`, or on `path` opened with `flags` (and kept
    /// when `body` succeeds and there is room). `body` returns nil when the descriptor failed:
    /// a kept one is then closed and forgotten, and the result is nil. Everything happens
    /// under the lock, so no other call closes the descriptor (and the number is reused for
    /// another file) while `body` runs.
    func use<T>(_ key: Key, path: () -> String, flags: Int32, _ body: (Int32) -> T?) -> T? {
        open.withLock { table -> T? in
            if let descriptor = table[key] {
                if let result = body(descriptor) { return result }
                table.removeValue(forKey: key)
                _ = close(descriptor)
                return nil
            }
            let descriptor = Glibc.open(path(), flags | O_CLOEXEC)
            guard descriptor >= 0 else { return nil }
            let result = body(descriptor)
            if result != nil && table.count < maximumOpen {
                table[key] = descriptor
            } else {
                _ = close(descriptor)
            }
            return result
        }
    }

    /// Closes and forgets every descriptor of `cpu`.
    func forget(cpu: Int) {
        let closing = open.withLock { open -> [Int32] in
            let keys = open.keys.filter { $0.cpu == cpu }
            return keys.compactMap { open.removeValue(forKey: $0) }
        }
        for descriptor in closing { _ = close(descriptor) }
    }

    /// How many descriptors are kept.
    var count: Int { open.withLock { $0.count } }

    /// A short attribute's text, trimmed of surrounding whitespace, read through the kept
    /// descriptor (opened and kept on first use); nil when the file cannot be read.
    func readTrimmed(_ key: Key, path: @autoclosure () -> String) -> String? {
        use(key, path: path, flags: O_RDONLY, Self.readShort)
    }

    /// Up to 64 bytes from offset 0 (a governor's name has at most 15), trimmed; nil on an
    /// error or a longer file.
    static func readShort(_ descriptor: Int32) -> String? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer -> String? in
            var count = 0
            repeat {
                count = pread(descriptor, buffer.baseAddress!, buffer.count, 0)
            } while count < 0 && errno == EINTR
            guard count >= 0, count < buffer.count else { return nil }
            var start = 0
            var end = count
            while start < end, Self.isSpace(buffer[start]) { start += 1 }
            while end > start, Self.isSpace(buffer[end - 1]) { end -= 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self)
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D
    }
}
