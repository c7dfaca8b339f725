import Foundation

/// A Python program serving HTTP on 127.0.0.1 for the tests that scrape Prometheus text: it
/// binds port 0 and prints the port it got on its first line.
public final class LoopbackTestServer: @unchecked Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case exitedBeforePort
        public var description: String { "the test HTTP server exited before printing its port" }
    }

    public let process: Process
    public let port: String

    /// Starts `python3 -c script arguments...` and waits for its port line.
    public init(script: String, arguments: [String] = []) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script] + arguments
        process.standardInput = FileHandle.nullDevice
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var portLine = Data()
        while !portLine.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw Failure.exitedBeforePort
            }
            portLine.append(chunk)
        }
        port = String(decoding: portLine, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private let stopped = NSLock()
    private var isStopped = false

    /// SIGKILL, not SIGTERM: the test process may run with SIGTERM ignored, which children
    /// inherit. Once only: a second kill could reach a recycled process id.
    public func stop() {
        stopped.lock()
        defer { stopped.unlock() }
        guard !isStopped else { return }
        isStopped = true
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
