import ArgumentParser
import GearboxControl
import Glibc

/// `--socket` and `--json`, shared by the commands that talk to gearboxd.
struct ControlOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The agent's control socket.", valueName: "path"))
    var socket = "/run/gearbox/control.sock"

    @Flag(help: "Print the agent's answer as JSON.")
    var json = false

    /// Sends `request` and returns the answer's document. A refusal or a failure is printed
    /// (one line on stderr; the error object on stdout with --json) and exits 1, or 2 when
    /// the request itself was at fault.
    func send(_ request: ControlRequest) throws -> JSONValue {
        let response: ControlResponse
        do {
            response = try ControlClient(socketPath: socket).exchange(request)
        } catch {
            if json { print(ControlResponse.failure(error).json().rendered(pretty: true)) }
            printError("gearboxctl: \(error.message)")
            throw ExitCode(error.isBadInput ? 2 : 1)
        }
        switch response {
        case .success(let document):
            if json { print(response.json().rendered(pretty: true)) }
            return document
        case .failure(let failure):
            if json { print(response.json().rendered(pretty: true)) }
            printError("gearboxctl: \(failure.message)")
            throw ExitCode(failure.isBadInput ? 2 : 1)
        }
    }
}

/// One request and its answer over the agent's Unix stream socket.
struct ControlClient {
    var socketPath: String
    /// How long to wait for the answer (the agent gives itself 10 s per request).
    var timeoutSeconds = 15
    /// Longest answer accepted.
    var maxBytes = 16 << 20

    func exchange(_ request: ControlRequest) throws(ControlFailure) -> ControlResponse {
        let descriptor = try connect()
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let line = Array((request.json().rendered() + "\n").utf8)
        var offset = 0
        while offset < line.count {
            let sent = line[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else {
                let failure = ControlFailure(.failed, "cannot send to gearboxd at \(socketPath): \(Self.reason(errno))")
                // The agent may have answered and closed before reading (too many connections): say what it said.
                guard let said = try? readLine(descriptor) else { throw failure }
                return ControlResponse.decode(line: said)
            }
            offset += sent
        }
        return ControlResponse.decode(line: try readLine(descriptor))
    }

    private func connect() throws(ControlFailure) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard !path.isEmpty, path.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ControlFailure(.invalid, "--socket: \"\(socketPath)\" is not a usable socket path (empty or over 107 bytes)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw ControlFailure(.failed, "cannot create a socket: \(Self.reason(errno))") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            switch code {
            case ENOENT: throw ControlFailure(.failed, "gearboxd is not running (no socket at \(socketPath))")
            case ECONNREFUSED: throw ControlFailure(.failed, "gearboxd is not running (nothing listens on \(socketPath))")
            case EACCES, EPERM: throw ControlFailure(.permissionDenied, "permission denied: cannot connect to \(socketPath)")
            default: throw ControlFailure(.failed, "cannot connect to gearboxd at \(socketPath): \(Self.reason(code))")
            }
        }
        return descriptor
    }

    private func readLine(_ descriptor: Int32) throws(ControlFailure) -> String {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while !buffer.contains(UInt8(ascii: "\n")) {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                throw ControlFailure(.failed, "gearboxd did not answer within \(timeoutSeconds) s")
            }
            guard count >= 0 else { throw ControlFailure(.failed, "cannot read gearboxd's answer: \(Self.reason(errno))") }
            if count == 0 { break }
            buffer += chunk[..<count]
            guard buffer.count <= maxBytes else { throw ControlFailure(.failed, "gearboxd's answer is longer than \(maxBytes) bytes") }
        }
        guard !buffer.isEmpty else { throw ControlFailure(.failed, "gearboxd closed the connection without an answer") }
        let line = buffer.prefix { $0 != UInt8(ascii: "\n") }
        return String(decoding: line, as: UTF8.self)
    }

    static func reason(_ code: Int32) -> String { "\(String(cString: strerror(code))) (errno \(code))" }
}
