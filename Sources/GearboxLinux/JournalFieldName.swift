/// A journald field name: only `A`–`Z`, `0`–`9` and `_`, not starting with `_` or a digit,
/// at most 64 characters (journald drops fields that break these rules).
public struct JournalFieldName: Hashable, Sendable, CustomStringConvertible {
    /// The field name as sent to journald.
    public let rawValue: String

    /// journald's limit on the length of a field name.
    public static let maximumLength = 64

    /// The prefix every metadata field gets, so that metadata never collides with journald's own fields.
    public static let metadataPrefix = "GEARBOX_"

    /// Wraps a name that is already valid; nil if journald would reject it.
    public init?(validating name: String) {
        guard Self.isValid(name) else { return nil }
        self.rawValue = name
    }

    /// The field for a swift-log metadata key: `cpu.domain` becomes `GEARBOX_CPU_DOMAIN`.
    ///
    /// Letters are upper-cased, every other character outside `A–Z 0–9 _` becomes `_`, the
    /// `GEARBOX_` prefix is added unless the key already carries it, and the result is cut
    /// to journald's 64 characters.
    public init(metadataKey key: String) {
        var body = ""
        body.reserveCapacity(key.utf8.count)
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"):
                body.unicodeScalars.append(Unicode.Scalar(byte - 32))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                body.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                // Multi-byte UTF-8 characters turn into one `_` per byte; names stay ASCII.
                body.append("_")
            }
        }
        let name = body.hasPrefix(Self.metadataPrefix) ? body : Self.metadataPrefix + body
        self.rawValue = String(name.prefix(Self.maximumLength))
    }

    public var description: String { rawValue }

    /// Whether journald accepts `name` as a field name sent by a client.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= maximumLength else { return false }
        guard first != UInt8(ascii: "_"), !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }
}
