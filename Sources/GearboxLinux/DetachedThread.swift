#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A detached POSIX thread running a closure: for work that must not wait for a thread of the
/// shared concurrency pool (Foundation's `Thread` without Foundation).
public enum DetachedThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new detached thread; false when the thread could not be created.
    /// `name` (at most 15 bytes) names the thread for `top -H`, `ps -L` and /proc/PID/task.
    @discardableResult
    public static func start(name: String? = nil, _ body: @escaping @Sendable () -> Void) -> Bool {
        let run: @Sendable () -> Void
        if let name { run = { nameCurrentThread(name); body() } } else { run = body }
        let context = Unmanaged.passRetained(Body(run)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var id = pthread_t()
        let status = pthread_create(&id, &attributes, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        if status != 0 { Unmanaged<Body>.fromOpaque(context).release() }
        return status == 0
    }

    /// Sets the calling thread's name (pthread_setname_np needs _GNU_SOURCE, which Swift's
    /// Glibc is not built with); a thread left unnamed is harmless.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        _ = close(fd)
    }
}
