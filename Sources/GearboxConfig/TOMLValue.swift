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
    public var entries: [(key: String, node: TOMLNode)] = []
    /// Line of the table header (`[x]` / `[[x]]` / `{`), or 1 for the root.
    public var line: Int

    public init(line: Int) { self.line = line }

    public subscript(key: String) -> TOMLNode? {
        entries.first { $0.key == key }?.node
    }

    mutating func set(_ key: String, _ node: TOMLNode) {
        if let i = entries.firstIndex(where: { $0.key == key }) {
            entries[i].node = node
        } else {
            entries.append((key, node))
        }
    }
}
