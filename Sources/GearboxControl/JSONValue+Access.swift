/// Reading values back out of parsed JSON (the control protocol's requests and responses).
extension JSONValue {
    /// The value of field `key` of an object; nil for a missing field or a non-object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    /// The fields of an object, in document order; nil for other values.
    public var objectFields: [(String, JSONValue)]? {
        if case .object(let fields) = self { return fields }
        return nil
    }

    public var arrayItems: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// An integer, or a number that is a whole number within `Int`'s range.
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .number(let x) where x == x.rounded() && abs(x) < 9.0e15: return Int(x)
        default: return nil
        }
    }

    /// Any number as a `Double`.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .number(let x): return x
        default: return nil
        }
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The JSON type's name, for error messages ("expected a number, got a string").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
