import Foundation
import GearboxControl
import Testing

/// The JSON writer against Foundation's parser (an independent reader), and its layout against
/// text written by hand.
@Suite struct JSONRenderingTests {
    /// A random value of bounded depth: every kind, strings with quotes, backslashes, control
    /// characters and multi-byte characters.
    static func randomValue(depth: Int, using rng: inout SystemRandomNumberGenerator) -> JSONValue {
        let pieces = ["a", "web", "\"", "\\", "\n", "\r", "\t", "\u{01}", "\u{1f}", "é", "漢", "🙂", " ", "/", "\u{7f}"]
        switch Int.random(in: 0..<(depth > 0 ? 7 : 5), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int(Int.random(in: -1_000_000...1_000_000, using: &rng))
        case 3: return .number(Double.random(in: -1e6...1e6, using: &rng) * (Bool.random(using: &rng) ? 1 : 1e-9))
        case 4: return .string((0..<Int.random(in: 0...6, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined())
        case 5: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(depth: depth - 1, using: &rng) })
        default:
            return .object((0..<Int.random(in: 0...4, using: &rng)).map { i in
                ("k\(i)" + (pieces.randomElement(using: &rng)!), randomValue(depth: depth - 1, using: &rng))
            })
        }
    }

    /// Whether what Foundation read is `value`. Numbers agree to 1e-15 relative: Foundation's
    /// reader does not always round a long decimal to the nearest double.
    static func matches(_ read: Any, _ value: JSONValue) -> Bool {
        switch value {
        case .null: return read is NSNull
        case .bool(let b): return (read as? Bool) == b
        case .int(let i): return (read as? NSNumber)?.int64Value == Int64(i)
        case .number(let x):
            guard let y = (read as? NSNumber)?.doubleValue else { return false }
            return abs(y - x) <= 1e-15 * abs(x)
        case .string(let s): return read as? String == s
        case .array(let items):
            guard let list = read as? [Any], list.count == items.count else { return false }
            return zip(list, items).allSatisfy { matches($0, $1) }
        case .object(let fields):
            guard let dictionary = read as? [String: Any] else { return false }
            let last = Dictionary(fields.map { ($0.0, $0.1) }, uniquingKeysWith: { _, later in later })
            return dictionary.count == last.count && last.allSatisfy { key, item in dictionary[key].map { matches($0, item) } ?? false }
        }
    }

    @Test("compact and pretty text read back by Foundation's parser as the same value (500 random values)")
    func readsBack() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let value = Self.randomValue(depth: 4, using: &rng)
            for pretty in [false, true] {
                let text = value.rendered(pretty: pretty)
                let read = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
                #expect(Self.matches(read, value), "\(text)")
            }
        }
    }

    @Test("layout: two-space indent, one field per line, short scalar lists inline, escapes as JSON spells them")
    func layout() {
        let value = JSONValue.object([
            ("name", .string("a \"q\"\\\n\u{01}")),
            ("cpus", .array([.int(0), .int(1)])),
            ("empty", .array([])),
            ("nested", .object([("x", .number(0.25)), ("none", .object([]))])),
            ("list", .array([.object([("y", .null)])])),
        ])
        #expect(value.rendered() == #"{"name":"a \"q\"\\\n\u0001","cpus":[0,1],"empty":[],"nested":{"x":0.25,"none":{}},"list":[{"y":null}]}"#)
        #expect(value.rendered(pretty: true) == """
            {
              "name": "a \\"q\\"\\\\\\n\\u0001",
              "cpus": [0, 1],
              "empty": [],
              "nested": {
                "x": 0.25,
                "none": {}
              },
              "list": [
                {
                  "y": null
                }
              ]
            }
            """)
    }
}
