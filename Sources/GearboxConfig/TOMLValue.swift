/// A TOML value with the line it started on, so that errors can name it.
public struct TOMLNode: Sendable {
    public enum Value: Sendable {
        case string(String)
        case integer(Int)
        case float(Double)
        case bool(Bool)
        case array([TOMLNode])
        case table(TOMLTable)
    }
    public var value: Value
    public var line: Int

    /// The TOML type name, for "expected X, got Y" errors.
    public var typeName: String {
        switch value {
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .bool: "boolean"
        case .array: "array"
        case .table: "table"
        }
    }
}

/// A TOML table: keys in the order they were written, each with its node.
public struct TOMLTable: Sendable {
    public private(set) var entries: [(key: String, node: TOMLNode)] = []
    /// Where each key sits in `entries`: lookups stay O(1) however many keys a file holds.
    private var positions: [String: Int] = [:]
    /// Line of the table header (`[x]` / `[[x]]` / `{`), or 1 for the root.
    public var line: Int

    public init(line: Int) { self.line = line }

    public subscript(key: String) -> TOMLNode? {
        positions[key].map { entries[$0].node }
    }

    mutating func set(_ key: String, _ node: TOMLNode) {
        if let i = positions[key] {
            entries[i].node = node
        } else {
            positions[key] = entries.count
            entries.append((key, node))
        }
    }

    /// Changes the node under `key` in place (no copy of what it holds); false when absent.
    mutating func updateNode<E: Error>(_ key: String, _ body: (inout TOMLNode) throws(E) -> Void) throws(E) -> Bool {
        guard let i = positions[key] else { return false }
        try body(&entries[i].node)
        return true
    }
}
