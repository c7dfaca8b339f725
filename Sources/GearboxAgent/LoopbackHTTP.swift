#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.0 GET for an application's `/metrics` on loopback, with a hard deadline so
/// that a stuck endpoint costs the control loop a bounded wait (never a blocked tick).
/// Loopback only: the service unit allows no other address (IPAddressAllow=localhost).
public enum LoopbackHTTP {
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public var url: String
        public var reason: String
        public var description: String { "\(url): \(reason)" }
    }

    /// The body of a 200 answer to `GET url`.
    public static func get(_ url: String, timeout: Duration = .milliseconds(300)) throws(Failure) -> String {
        let fail = { (reason: String) in Failure(url: url, reason: reason) }
        guard url.hasPrefix("http://") else { throw fail("only http:// URLs are supported") }
        let rest = url.dropFirst("http://".count)
        let hostPort = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(hostPort.count).isEmpty ? "/" : String(rest.dropFirst(hostPort.count))
        let (host, port) = try splitHostPort(String(hostPort), fail: fail)
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let fd = try connect(host: host, port: port, deadline: deadline, fail: fail)
        defer { close(fd) }
        let request = "GET \(path) HTTP/1.0\r\nHost: \(hostPort)\r\nAccept: text/plain\r\nConnection: close\r\n\r\n"
        let sent = request.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
        guard sent == request.utf8.count else { throw fail("send failed: \(String(cString: strerror(errno)))") }
        let response = try readAll(fd, deadline: deadline, fail: fail)
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let headerEnd = response.indices.dropLast(3).first(where: { response[$0..<$0 + 4].elementsEqual(separator) }) else {
            throw fail("malformed HTTP response")
        }
        let head = String(decoding: response[..<headerEnd], as: UTF8.self)
        let status = head.split(separator: " ", maxSplits: 2)
        guard status.count >= 2, status[1] == "200" else { throw fail("HTTP status \(status.count >= 2 ? String(status[1]) : "?")") }
        return String(decoding: response[(headerEnd + 4)...], as: UTF8.self)
    }

    private static func splitHostPort(_ text: String, fail: (String) -> Failure) throws(Failure) -> (String, UInt16) {
        var host = text
        var port: UInt16 = 80
        if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") {
            guard let p = UInt16(text[text.index(after: colon)...]) else { throw fail("bad port") }
            port = p
            host = String(text[..<colon])
        }
        let bracket: (Character) -> Bool = { $0 == "[" || $0 == "]" }
        host = String(host.drop(while: bracket).reversed().drop(while: bracket).reversed())
        if host == "localhost" { host = "127.0.0.1" }
        guard host.hasPrefix("127.") || host == "::1" else { throw fail("only loopback addresses are allowed") }
        return (host, port)
    }

    private static func connect(host: String, port: UInt16, deadline: ContinuousClock.Instant, fail: (String) -> Failure) throws(Failure) -> Int32 {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw fail("socket: \(String(cString: strerror(errno)))") }
        var result: Int32
        if v6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { close(fd); throw fail("bad address \(host)") }
            result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        if result != 0 && errno != EINPROGRESS {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw fail("connect: \(reason)")
        }
        guard wait(fd, events: Int16(POLLOUT), deadline: deadline) else { close(fd); throw fail("timed out connecting") }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else { close(fd); throw fail("connect: \(String(cString: strerror(error)))") }
        return fd
    }

    private static func readAll(_ fd: Int32, deadline: ContinuousClock.Instant, fail: (String) -> Failure) throws(Failure) -> [UInt8] {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            guard wait(fd, events: Int16(POLLIN), deadline: deadline) else { throw fail("timed out reading") }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return data }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw fail("read: \(String(cString: strerror(errno)))")
            }
            data.append(contentsOf: buffer[0..<n])
            guard data.count < 16 << 20 else { throw fail("response larger than 16 MiB") }
        }
    }

    private static func wait(_ fd: Int32, events: Int16, deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return false }
            let ms = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, ms)
            if r > 0 { return true }
            if r < 0 && errno == EINTR { continue }
            if r == 0 { return false }
            return false
        }
    }
}
