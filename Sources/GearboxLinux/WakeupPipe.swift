#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A pipe that one thread waits on with `poll(2)` and any thread writes a byte to, so that a
/// thread sleeps until something happens instead of waking on a timer to look.
public final class WakeupPipe: Sendable {
    /// The end to poll for `POLLIN`; -1 when no pipe could be made (then waits only time out).
    public let readDescriptor: Int32
    private let writeDescriptor: Int32

    public init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            }
        } else {
            fds = [-1, -1]
        }
        readDescriptor = fds[0]
        writeDescriptor = fds[1]
    }

    deinit {
        if readDescriptor >= 0 { _ = close(readDescriptor) }
        if writeDescriptor >= 0 { _ = close(writeDescriptor) }
    }

    /// False when no pipe could be made: a waiter must then look on a timer.
    public var isUsable: Bool { readDescriptor >= 0 }

    /// Wakes the waiter. Never blocks: a full pipe wakes it already.
    public func signal() {
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    /// Empties the pipe, after `poll` said it is readable.
    public func drain() {
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &buffer, { read(readDescriptor, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Waits until `signal()` or `deadline`; true when signalled (the pipe is emptied then).
    public func wait(until deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return false }
            var entry = pollfd(fd: readDescriptor, events: Int16(POLLIN), revents: 0)
            let r = poll(&entry, 1, Self.pollTimeout(left))
            if r > 0 {
                drain()
                return true
            }
            if r < 0 && errno != EINTR { return false }
        }
    }

    /// `duration` as poll(2)'s timeout: milliseconds rounded up (a wait never ends early and
    /// spins), at most `Int32.max`.
    public static func pollTimeout(_ duration: Duration) -> Int32 {
        guard duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds.multipliedReportingOverflow(by: 1000)
        guard !milliseconds.overflow else { return .max }
        let rounded = milliseconds.partialValue + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: rounded)
    }
}
