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
        var out: [UInt8] = []
        write(into: &out, pretty: pretty, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    // The agent renders its whole plan (some 80 kB on a 96-domain host) at every re-plan: the
    // text is built as bytes (appending many short pieces to a String costs several times as
    // much), and containers are written in place.
    private func write(into out: inout [UInt8], pretty: Bool, indent: Int) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .number(let x): out.append(contentsOf: Self.format(x).utf8)
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            // Short lists of scalars (a domain's CPUs) stay on one line even when pretty.
            let inline = pretty && items.allSatisfy { $0.isScalar }
            for i in items.indices {
                Self.separate(first: i == items.startIndex, inline: inline, pretty: pretty, indent: indent + 1, into: &out)
                items[i].write(into: &out, pretty: pretty, indent: indent + 1)
            }
            Self.close(UInt8(ascii: "]"), empty: items.isEmpty, inline: inline, pretty: pretty, indent: indent, into: &out)
        case .object(let fields):
            out.append(UInt8(ascii: "{"))
            for i in fields.indices {
                Self.separate(first: i == fields.startIndex, inline: false, pretty: pretty, indent: indent + 1, into: &out)
                Self.quote(fields[i].0, into: &out)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(UInt8(ascii: " ")) }
                fields[i].1.write(into: &out, pretty: pretty, indent: indent + 1)
            }
            Self.close(UInt8(ascii: "}"), empty: fields.isEmpty, inline: false, pretty: pretty, indent: indent, into: &out)
        }
    }

    /// What goes before an item: a comma after the first, and when pretty a new line and indent.
    private static func separate(first: Bool, inline: Bool, pretty: Bool, indent: Int, into out: inout [UInt8]) {
        if !first {
            out.append(UInt8(ascii: ","))
            if inline { out.append(UInt8(ascii: " ")) }
        }
        if pretty && !inline { newLine(indent: indent, into: &out) }
    }

    private static func close(_ bracket: UInt8, empty: Bool, inline: Bool, pretty: Bool, indent: Int, into out: inout [UInt8]) {
        if pretty && !inline && !empty { newLine(indent: indent, into: &out) }
        out.append(bracket)
    }

    private static func newLine(indent: Int, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\n"))
        var rest = 2 * indent
        while rest > 0 {
            let run = min(rest, spaces.count)
            out.append(contentsOf: spaces[0..<run])
            rest -= run
        }
    }

    private static let spaces = [UInt8](repeating: UInt8(ascii: " "), count: 32)

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

    static func quote(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (names, reasons) need no escape: append them whole.
        let plain = s.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
        if plain == true {
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: "\\r".utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: "\\t".utf8)
            case 0..<0x20:
                // Other control characters as \u00XX; bytes of multi-byte characters pass as they are.
                out.append(contentsOf: "\\u00".utf8)
                out.append(Self.hexDigit(byte >> 4))
                out.append(Self.hexDigit(byte & 0xF))
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
