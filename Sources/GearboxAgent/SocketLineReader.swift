import Glibc

/// Reads newline-terminated lines from a connected socket, at most `maxBytes` per line, so
/// that a peer cannot make the agent buffer without bound, and each line within a deadline
/// counted from its first byte, so that a peer cannot hold a connection by sending slowly.
///
/// Waits use poll(2) with the time that remains: a timeout that restarted with every read
/// (SO_RCVTIMEO) would let a peer sending one byte per timeout keep the connection forever.
struct SocketLineReader {
    enum Next: Equatable {
        case line(ArraySlice<UInt8>)
        /// A line grew past the bound before its newline.
        case tooLong
        /// The peer closed its side (a last unterminated line was returned before this).
        case end
        /// Nothing arrived within the idle timeout, between lines.
        case idle
        /// A line was started but not finished within the line deadline.
        case lineDeadlinePassed
        case failed(Int32)
    }

    let descriptor: Int32
    let maxBytes: Int
    /// Received bytes: `storage[..<filled]`; those before `start` belong to lines already
    /// returned. Allocated once, one byte more than a line may hold (that byte tells a line
    /// too long); the kernel fills it directly, and pages never written are never touched.
    private var storage: [UInt8]
    private var filled = 0
    private var start = 0
    /// Where the search for the next newline resumes (bytes before it hold none).
    private var scanned = 0
    private var closed = false

    init(descriptor: Int32, maxBytes: Int) {
        self.descriptor = descriptor
        self.maxBytes = maxBytes
        let capacity = maxBytes + 1
        storage = [UInt8](unsafeUninitializedCapacity: capacity) { _, count in count = capacity }
    }

    /// The next line. Waits at most `idleTimeout` for its first byte (a line already begun in
    /// the buffer counts as started now), then at most `lineDeadline` from that byte for its newline.
    mutating func next(idleTimeout: Duration, lineDeadline: Duration) -> Next {
        var deadline: ContinuousClock.Instant? = start < filled ? .now + lineDeadline : nil
        while true {
            if let newline = firstNewline() {
                let line = storage[start..<newline]
                start = newline + 1
                scanned = start
                return line.count > maxBytes ? .tooLong : .line(line)
            }
            scanned = filled
            if filled - start > maxBytes { return .tooLong }
            if closed {
                guard start < filled else { return .end }
                let line = storage[start..<filled]
                start = filled
                scanned = start
                return .line(line)
            }
            let wait = deadline.map { $0 - .now } ?? idleTimeout
            guard wait > .zero else { return .lineDeadlinePassed }
            switch Self.waitReadable(descriptor, for: wait) {
            case .ready: break
            case .timedOut: return deadline == nil ? .idle : .lineDeadlinePassed
            case .failed(let code): return .failed(code)
            }
            switch receive() {
            case .bytes:
                if deadline == nil { deadline = .now + lineDeadline }
            case .closed:
                closed = true
            case .nothing:
                continue
            case .failed(let code):
                return .failed(code)
            }
        }
    }

    /// The index of the first newline in the bytes not yet searched, if any.
    private func firstNewline() -> Int? {
        guard scanned < filled else { return nil }
        return storage.withUnsafeBytes { bytes in
            memchr(bytes.baseAddress! + scanned, 0x0A, filled - scanned).map { UnsafeRawPointer($0) - bytes.baseAddress! }
        }
    }

    private enum Received { case bytes, closed, nothing, failed(Int32) }

    /// One non-blocking read after the bytes held, once the lines already returned are dropped.
    private mutating func receive() -> Received {
        if start > 0 {
            let (from, kept) = (start, filled - start)
            storage.withUnsafeMutableBytes { bytes in
                if kept > 0 { memmove(bytes.baseAddress!, bytes.baseAddress! + from, kept) }
            }
            filled = kept
            scanned -= from
            start = 0
        }
        let room = storage.count - filled
        let count = storage.withUnsafeMutableBytes { bytes in
            recv(descriptor, bytes.baseAddress! + filled, room, Int32(MSG_DONTWAIT))
        }
        if count > 0 {
            filled += count
            return .bytes
        }
        if count == 0 { return .closed }
        if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { return .nothing }
        return .failed(errno)
    }

    enum Wait: Equatable { case ready, timedOut, failed(Int32) }

    /// Waits until `descriptor` has `events` (readable by default) or `duration` passes,
    /// retrying an interrupted poll with the time that remains.
    static func waitReadable(_ descriptor: Int32, for duration: Duration, events: Int32 = Int32(POLLIN)) -> Wait {
        let end = ContinuousClock.now + duration
        while true {
            let remaining = end - .now
            guard remaining > .zero else { return .timedOut }
            var entry = pollfd(fd: descriptor, events: Int16(events), revents: 0)
            let ready = poll(&entry, 1, milliseconds(remaining))
            if ready > 0 { return .ready }
            if ready == 0 { continue }
            if errno == EINTR { continue }
            return .failed(errno)
        }
    }

    /// `duration` as a poll(2) timeout: whole milliseconds, rounded up so that a wait never
    /// ends just before its deadline and spins, at most a day.
    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        guard seconds < 86_400 else { return 86_400_000 }
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(max(0, ms))
    }
}

extension SocketLineReader {
    /// Writes all of `text` within `deadline` in total (MSG_NOSIGNAL: a peer that went away is
    /// an error, not a SIGPIPE); a peer that stops reading is given up at the deadline.
    static func send(_ text: String, to descriptor: Int32, deadline: Duration) -> Bool {
        let bytes = Array(text.utf8)
        let end = ContinuousClock.now + deadline
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if sent > 0 {
                offset += sent
            } else if sent < 0 && errno == EINTR {
                continue
            } else if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                guard waitReadable(descriptor, for: end - .now, events: Int32(POLLOUT)) == .ready else { return false }
            } else {
                return false
            }
        }
        return true
    }
}
