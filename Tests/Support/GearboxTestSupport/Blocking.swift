import Foundation

/// Runs blocking work (waiting for a child process, a socket read, a long simulation) on a
/// thread of its own and awaits it, so that the concurrency pool stays free. Swift Testing
/// runs every test on that pool, which has one thread per core: two tests that each wait
/// minutes for a build or a child on a 2-core machine hold all of it, and every async test
/// (and every agent task a test runs in-process) waits behind them. What `body` throws is
/// rethrown. Expectations belong after the await, in the test's own task.
public func blocking<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: Result { () throws(E) -> T in try body() }) }.start()
    }
    return try result.get()
}
