import GearboxCore

/// Typed, checked access to one TOML table. Every read records the key, so `finish()` can
/// refuse keys nobody asked for (typos must not be silently ignored).
struct TableReader {
    let source: TOMLTable
    let file: String
    /// Field path of this table for error messages, e.g. `queue[2]` or `domain[1].power`.
    let path: String
    private var used = Set<String>()

    init(_ table: TOMLTable, file: String, path: String) {
        self.source = table
        self.file = file
        self.path = path
    }

    func fieldName(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String?, _ message: String, line: Int? = nil) -> ConfigError {
        let node = key.flatMap { source[$0] }
        return ConfigError(file: file, line: line ?? node?.line ?? source.line, field: key.map(fieldName) ?? (path.isEmpty ? nil : path), message: message)
    }

    func has(_ key: String) -> Bool { source[key] != nil }

    mutating func node(_ key: String) -> TOMLNode? {
        used.insert(key)
        return source[key]
    }

    mutating func string(_ key: String) throws(ConfigError) -> String? {
        guard let node = node(key) else { return nil }
        guard case .string(let s) = node.value else { throw typeError(key, "a string", node) }
        return s
    }

    mutating func int(_ key: String) throws(ConfigError) -> Int? {
        guard let node = node(key) else { return nil }
        guard case .integer(let i) = node.value else { throw typeError(key, "an integer", node) }
        return i
    }

    /// A number: integers are accepted where a float is expected (`rate = 800`).
    mutating func double(_ key: String) throws(ConfigError) -> Double? {
        guard let node = node(key) else { return nil }
        switch node.value {
        case .integer(let i): return Double(i)
        case .float(let d) where d.isFinite: return d
        case .float: throw error(key, "must be a finite number")
        default: throw typeError(key, "a number", node)
        }
    }

    /// A number within `range`; outside it, an error naming the range and its unit.
    mutating func double(_ key: String, in range: InputRange) throws(ConfigError) -> Double? {
        guard let x = try double(key) else { return nil }
        if let refusal = range.refusal(x) { throw error(key, refusal) }
        return x
    }

    mutating func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let node = node(key) else { return nil }
        guard case .bool(let b) = node.value else { throw typeError(key, "true or false", node) }
        return b
    }

    mutating func table(_ key: String) throws(ConfigError) -> TableReader? {
        guard let node = node(key) else { return nil }
        guard case .table(let t) = node.value else { throw typeError(key, "a table", node) }
        return TableReader(t, file: file, path: fieldName(key))
    }

    mutating func array(_ key: String) throws(ConfigError) -> [TOMLNode]? {
        guard let node = node(key) else { return nil }
        guard case .array(let a) = node.value else { throw typeError(key, "an array", node) }
        return a
    }

    /// An array of tables (`[[queue]]`), each as a reader named `key[i]` (1-based, as people
    /// count); more than `limit` of them is an error at the first one too many.
    mutating func tables(_ key: String, atMost limit: Int = .max) throws(ConfigError) -> [TableReader] {
        guard let items = try array(key) else { return [] }
        guard items.count <= limit else {
            throw ConfigError(file: file, line: items[limit].line, field: fieldName(key), message: "more than \(limit) [[\(key)]] tables; gearbox takes at most \(limit)")
        }
        var readers: [TableReader] = []
        for (i, item) in items.enumerated() {
            guard case .table(let t) = item.value else {
                throw ConfigError(file: file, line: item.line, field: "\(fieldName(key))[\(i + 1)]", message: "expected a table, got a \(item.typeName)")
            }
            readers.append(TableReader(t, file: file, path: "\(fieldName(key))[\(i + 1)]"))
        }
        return readers
    }

    mutating func cpuList(_ key: String) throws(ConfigError) -> [Int]? {
        guard let text = try string(key) else {
            if let node = source[key], case .integer(let cpu) = node.value, cpu >= 0 {
                guard cpu <= InputLimits.maximumCPU else {
                    throw self.error(key, "CPU \(cpu) is above \(InputLimits.maximumCPU), the highest CPU number")
                }
                return [cpu]
            }
            return nil
        }
        do {
            return try CPUList.parse(text)
        } catch {
            throw self.error(key, error.description)
        }
    }

    func require<T>(_ value: T?, _ key: String) throws(ConfigError) -> T {
        guard let value else { throw error(nil, "missing required field \"\(key)\"") }
        return value
    }

    /// Refuses any key that was not read.
    func finish() throws(ConfigError) {
        for (key, node) in source.entries where !used.contains(key) {
            throw ConfigError(file: file, line: node.line, field: fieldName(key), message: "unknown field")
        }
    }

    private func typeError(_ key: String, _ expected: String, _ node: TOMLNode) -> ConfigError {
        error(key, "expected \(expected), got a \(node.typeName)")
    }
}
