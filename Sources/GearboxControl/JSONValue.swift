/// A JSON value with ordered object keys, rendered byte-for-byte deterministically.
///
/// Used for everything gearbox prints or publishes as JSON, so that the same input gives the
/// same bytes (docs/formats.md, scripts diff the output) and fields keep the order the contract lists.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.rendered() == b.rendered() }
    public func hash(into hasher: inout Hasher) { hasher.combine(rendered()) }

    /// A number, or null when it is not finite (JSON has no infinity).
    public static func finite(_ x: Double) -> JSONValue { x.isFinite ? .number(x) : .null }

    /// Renders the value; `pretty` indents by two spaces, one field per line.
    public func rendered(pretty: Bool = false) -> String {
        var out = ""
        write(into: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(into out: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .number(let x): out += Self.format(x)
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            writeContainer(items.map { (nil, $0) }, open: "[", close: "]", into: &out, pretty: pretty, indent: indent)
        case .object(let fields):
            writeContainer(fields.map { ($0.0, $0.1) }, open: "{", close: "}", into: &out, pretty: pretty, indent: indent)
        }
    }

    private func writeContainer(_ items: [(String?, JSONValue)], open: String, close: String, into out: inout String, pretty: Bool, indent: Int) {
        out += open
        if items.isEmpty { out += close; return }
        // Short lists of scalars (a domain's CPUs) stay on one line even when pretty.
        let inline = pretty && items.allSatisfy { $0.0 == nil && $0.1.isScalar }
        let pad = pretty ? String(repeating: "  ", count: indent + 1) : ""
        for (i, (key, value)) in items.enumerated() {
            if i > 0 { out += inline ? ", " : "," }
            if pretty && !inline {
                out += "\n"
                out += pad
            }
            if let key {
                Self.quote(key, into: &out)
                out += pretty ? ": " : ":"
            }
            value.write(into: &out, pretty: pretty, indent: indent + 1)
        }
        if pretty && !inline { out += "\n" + String(repeating: "  ", count: indent) }
        out += close
    }

    var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }

    static func format(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
        return String(x)
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        // Most strings (names, reasons) need no escape: append them whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
