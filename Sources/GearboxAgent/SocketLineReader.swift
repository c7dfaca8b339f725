import Glibc

/// Reads newline-terminated lines from a connected socket, at most `maxBytes` per line, so
/// that a peer cannot make the agent buffer without bound.
struct SocketLineReader {
    enum Next: Equatable {
        case line([UInt8])
        /// A line grew past the bound before its newline.
        case tooLong
        /// The peer closed its side (a last unterminated line was returned before this).
        case end
        /// Nothing arrived within the socket's receive timeout.
        case timedOut
        case failed(Int32)
    }

    let descriptor: Int32
    let maxBytes: Int
    private var buffer: [UInt8] = []
    private var scanned = 0
    private var closed = false

    init(descriptor: Int32, maxBytes: Int) {
        self.descriptor = descriptor
        self.maxBytes = maxBytes
    }

    mutating func next() -> Next {
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                scanned = 0
                return line.count > maxBytes ? .tooLong : .line(line)
            }
            scanned = buffer.count
            if buffer.count > maxBytes { return .tooLong }
            if closed {
                guard !buffer.isEmpty else { return .end }
                defer {
                    buffer.removeAll()
                    scanned = 0
                }
                return buffer.count > maxBytes ? .tooLong : .line(buffer)
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer += chunk[..<count]
            } else if count == 0 {
                closed = true
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                return .timedOut
            } else {
                return .failed(errno)
            }
        }
    }
}

extension SocketLineReader {
    /// Writes all of `text` (MSG_NOSIGNAL: a peer that went away is an error, not a SIGPIPE).
    static func send(_ text: String, to descriptor: Int32, flags: Int32 = 0) -> Bool {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | flags)
            }
            if sent > 0 {
                offset += sent
            } else if sent < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }

    /// Sets the receive and send timeouts of a socket (SO_RCVTIMEO, SO_SNDTIMEO).
    static func setTimeouts(_ descriptor: Int32, receive: Duration, send: Duration) {
        for (option, duration) in [(SO_RCVTIMEO, receive), (SO_SNDTIMEO, send)] {
            let (seconds, attoseconds) = duration.components
            var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
            setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
        }
    }
}
