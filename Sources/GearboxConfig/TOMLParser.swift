/// A TOML parser for the subset gearbox's files use: comments, `[table]`, `[[array.of.tables]]`,
/// bare/quoted/dotted keys, basic and literal strings, integers, floats, booleans, arrays
/// (across lines) and inline tables. Dates and multi-line strings are refused with a clear error.
///
/// Hand-written rather than a dependency so every value keeps its line number: the product
/// promises errors that name the file, line and field.
public struct TOMLParser {
    public struct SyntaxError: Error, Sendable {
        public var line: Int
        public var message: String
    }

    /// Arrays and inline tables nested deeper than this are refused rather than recursed
    /// into: a hostile file cannot exhaust the stack (gearbox's files nest three deep).
    public static let maximumNesting = 64
    /// Parts of one dotted key or table name (`a.b.c` has three).
    public static let maximumKeyParts = 16

    private let chars: [Character]
    private var index = 0
    private var line = 1

    public static func parse(_ text: String) throws(SyntaxError) -> TOMLTable {
        var parser = TOMLParser(chars: Array(text))
        return try parser.document()
    }

    private init(chars: [Character]) { self.chars = chars }

    // MARK: Document structure

    private mutating func document() throws(SyntaxError) -> TOMLTable {
        var root = TOMLTable(line: 1)
        // Path of the table that key/value lines currently go into; the Int is the index into an
        // array of tables, when that path element is one.
        var current: [PathElement] = []
        var explicitTables = Set<String>()
        while true {
            skipWhitespaceCommentsAndNewlines()
            guard let c = peek() else { break }
            let startLine = line
            if c == "[" {
                let isArray = peek(1) == "["
                advance(isArray ? 2 : 1)
                skipSpaces()
                let path = try key()
                skipSpaces()
                guard consume("]"), !isArray || consume("]") else {
                    throw fail("expected \(isArray ? "]]" : "]") after table name")
                }
                try endOfLine()
                current = try open(path: path, isArray: isArray, line: startLine, in: &root)
                if !isArray {
                    let name = path.joined(separator: ".")
                    guard explicitTables.insert(name).inserted else {
                        throw SyntaxError(line: startLine, message: "table [\(name)] is defined twice")
                    }
                }
            } else {
                let path = try key()
                skipSpaces()
                guard consume("=") else { throw fail("expected '=' after key \"\(path.joined(separator: "."))\"") }
                skipSpaces()
                let node = try value()
                try endOfLine()
                try assign(node, at: path, under: current, in: &root, line: startLine)
            }
        }
        return root
    }

    private enum PathElement { case key(String), arrayElement(String, Int) }

    /// What a name holds in a table, without holding on to it: a live reference would make
    /// the next change copy the whole table (quadratic time on a long file).
    private enum Slot { case absent, table, arrayOfTables(count: Int), other(String) }

    private static func slot(_ name: String, at path: [PathElement], in root: TOMLTable) -> Slot {
        guard let node = table(at: path, in: root)?[name] else { return .absent }
        switch node.value {
        case .table: return .table
        case .array(let items):
            guard let last = items.last, case .table = last.value else { return .other(node.typeName) }
            return .arrayOfTables(count: items.count)
        default: return .other(node.typeName)
        }
    }

    /// Creates (or finds) the table named by a header and returns the path to it.
    private func open(path: [String], isArray: Bool, line: Int, in root: inout TOMLTable) throws(SyntaxError) -> [PathElement] {
        var elements: [PathElement] = []
        for (i, name) in path.enumerated() {
            let last = i == path.count - 1
            let found = Self.slot(name, at: elements, in: root)
            if last && isArray {
                let fresh = TOMLNode(value: .table(TOMLTable(line: line)), line: line)
                switch found {
                case .absent:
                    try Self.modify(at: elements[...], in: &root, line: line) { $0.set(name, TOMLNode(value: .array([fresh]), line: line)) }
                    elements.append(.arrayElement(name, 0))
                case .arrayOfTables(let count):
                    try Self.modify(at: elements[...], in: &root, line: line) { table in
                        _ = table.updateNode(name) { node in
                            guard case .array(var items) = node.value else { return }
                            node.value = .bool(false)
                            items.append(fresh)
                            node.value = .array(items)
                        }
                    }
                    elements.append(.arrayElement(name, count))
                case .table: throw SyntaxError(line: line, message: "\"\(name)\" is already defined as a table")
                case .other(let type): throw SyntaxError(line: line, message: "\"\(name)\" is already defined as a \(type)")
                }
            } else {
                switch found {
                case .table: elements.append(.key(name))
                case .arrayOfTables(let count): elements.append(.arrayElement(name, count - 1))
                case .absent:
                    try Self.modify(at: elements[...], in: &root, line: line) { $0.set(name, TOMLNode(value: .table(TOMLTable(line: line)), line: line)) }
                    elements.append(.key(name))
                case .other(let type): throw SyntaxError(line: line, message: "\"\(name)\" is already defined as a \(type)")
                }
            }
        }
        return elements
    }

    private func assign(_ node: TOMLNode, at path: [String], under base: [PathElement], in root: inout TOMLTable, line: Int) throws(SyntaxError) {
        var elements = base
        for name in path.dropLast() {
            switch Self.slot(name, at: elements, in: root) {
            case .table: break
            case .absent:
                try Self.modify(at: elements[...], in: &root, line: line) { $0.set(name, TOMLNode(value: .table(TOMLTable(line: line)), line: line)) }
            case .arrayOfTables: throw SyntaxError(line: line, message: "\"\(name)\" is already defined as an array of tables")
            case .other(let type): throw SyntaxError(line: line, message: "\"\(name)\" is already defined as a \(type)")
            }
            elements.append(.key(name))
        }
        let name = path.last!
        if case .absent = Self.slot(name, at: elements, in: root) {
            try Self.modify(at: elements[...], in: &root, line: line) { $0.set(name, node) }
        } else {
            throw SyntaxError(line: line, message: "key \"\(path.joined(separator: "."))\" is defined twice")
        }
    }

    private static func table(at path: [PathElement], in root: TOMLTable) -> TOMLTable? {
        var table = root
        for element in path {
            switch element {
            case .key(let name):
                guard case .table(let t)? = table[name]?.value else { return nil }
                table = t
            case .arrayElement(let name, let i):
                guard case .array(let items)? = table[name]?.value, items.indices.contains(i), case .table(let t) = items[i].value else { return nil }
                table = t
            }
        }
        return table
    }

    /// Applies `body` to the table at `path`, changing every table on the way in place.
    private static func modify(at path: ArraySlice<PathElement>, in table: inout TOMLTable, line: Int,
                               _ body: (inout TOMLTable) throws(SyntaxError) -> Void) throws(SyntaxError) {
        guard let first = path.first else { try body(&table); return }
        let rest = path.dropFirst()
        let found: Bool
        switch first {
        case .key(let name):
            found = try table.updateNode(name) { (node: inout TOMLNode) throws(SyntaxError) in
                guard case .table(var inner) = node.value else { throw SyntaxError(line: line, message: "\"\(name)\" is not a table") }
                node.value = .bool(false) // let go of the node's copy, so `inner` changes in place
                try modify(at: rest, in: &inner, line: line, body)
                node.value = .table(inner)
            }
            if !found { throw SyntaxError(line: line, message: "\"\(name)\" is not a table") }
        case .arrayElement(let name, let i):
            found = try table.updateNode(name) { (node: inout TOMLNode) throws(SyntaxError) in
                guard case .array(var items) = node.value, items.indices.contains(i), case .table(var inner) = items[i].value else {
                    throw SyntaxError(line: line, message: "\"\(name)\" is not an array of tables")
                }
                node.value = .bool(false)
                items[i].value = .bool(false)
                try modify(at: rest, in: &inner, line: line, body)
                items[i].value = .table(inner)
                node.value = .array(items)
            }
            if !found { throw SyntaxError(line: line, message: "\"\(name)\" is not an array of tables") }
        }
    }

    // MARK: Keys and values

    private mutating func key() throws(SyntaxError) -> [String] {
        var parts: [String] = []
        repeat {
            skipSpaces()
            guard let c = peek() else { throw fail("expected a key") }
            if c == "\"" {
                parts.append(try basicString())
            } else if c == "'" {
                parts.append(try literalString())
            } else {
                var name = ""
                while let c = peek(), c.isLetter || c.isNumber || c == "_" || c == "-" {
                    name.append(c)
                    advance()
                }
                guard !name.isEmpty else { throw fail("expected a key, found '\(c)'") }
                parts.append(name)
            }
            skipSpaces()
            guard parts.count <= Self.maximumKeyParts else { throw fail("a key has more than \(Self.maximumKeyParts) dotted parts") }
        } while consume(".")
        return parts
    }

    /// A value at `depth` arrays or inline tables deep (0 for the right-hand side of a key).
    private mutating func value(depth: Int = 0) throws(SyntaxError) -> TOMLNode {
        guard depth < Self.maximumNesting else {
            throw fail("arrays and inline tables nested deeper than \(Self.maximumNesting) levels")
        }
        let startLine = line
        guard let c = peek() else { throw fail("expected a value") }
        let value: TOMLNode.Value
        switch c {
        case "\"":
            if peek(1) == "\"" && peek(2) == "\"" { throw fail("multi-line strings are not supported") }
            value = .string(try basicString())
        case "'":
            if peek(1) == "'" && peek(2) == "'" { throw fail("multi-line strings are not supported") }
            value = .string(try literalString())
        case "[": value = .array(try array(depth: depth))
        case "{": value = .table(try inlineTable(depth: depth))
        default: value = try scalar()
        }
        return TOMLNode(value: value, line: startLine)
    }

    private mutating func array(depth: Int) throws(SyntaxError) -> [TOMLNode] {
        advance() // [
        var items: [TOMLNode] = []
        while true {
            skipWhitespaceCommentsAndNewlines()
            if consume("]") { return items }
            items.append(try value(depth: depth + 1))
            skipWhitespaceCommentsAndNewlines()
            if consume(",") { continue }
            guard consume("]") else { throw fail("expected ',' or ']' in array") }
            return items
        }
    }

    private mutating func inlineTable(depth: Int) throws(SyntaxError) -> TOMLTable {
        var table = TOMLTable(line: line)
        advance() // {
        skipSpaces()
        if consume("}") { return table }
        while true {
            skipSpaces()
            let keyLine = line
            let path = try key()
            guard consume("=") else { throw fail("expected '=' in inline table") }
            skipSpaces()
            let node = try value(depth: depth + 1)
            guard path.count == 1 else { throw fail("dotted keys are not supported in inline tables") }
            if table[path[0]] != nil { throw SyntaxError(line: keyLine, message: "key \"\(path[0])\" is defined twice") }
            table.set(path[0], node)
            skipSpaces()
            if consume(",") { continue }
            guard consume("}") else { throw fail("expected ',' or '}' in inline table") }
            return table
        }
    }

    private mutating func scalar() throws(SyntaxError) -> TOMLNode.Value {
        var token = ""
        while let c = peek(), !(c == "," || c == "]" || c == "}" || c == "#" || c == " " || c == "\t" || c.isNewline) {
            token.append(c)
            advance()
        }
        switch token {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        case "": throw fail("expected a value")
        default: break
        }
        let digits = token.filter { $0 != "_" }
        if let i = Int(digits), !digits.contains(".") { return .integer(i) }
        if digits.hasPrefix("0x"), let i = Int(digits.dropFirst(2), radix: 16) { return .integer(i) }
        if let d = Double(digits), digits.contains(where: { $0.isNumber }) { return .float(d) }
        if token.contains(":") || (token.count >= 10 && token.dropFirst(4).first == "-") {
            throw fail("dates and times are not supported (\"\(token)\")")
        }
        throw fail("\"\(token)\" is not a value (strings need quotes)")
    }

    private mutating func basicString() throws(SyntaxError) -> String {
        advance() // "
        var s = ""
        while let c = peek() {
            advance()
            switch c {
            case "\"": return s
            case "\\":
                guard let e = peek() else { break }
                advance()
                switch e {
                case "n": s.append("\n")
                case "t": s.append("\t")
                case "r": s.append("\r")
                case "\"": s.append("\"")
                case "\\": s.append("\\")
                case "u", "U":
                    let n = e == "u" ? 4 : 8
                    var hex = ""
                    for _ in 0..<n { if let h = peek() { hex.append(h); advance() } }
                    guard let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                        throw fail("bad unicode escape \\\(e)\(hex)")
                    }
                    s.unicodeScalars.append(scalar)
                default: throw fail("unknown escape \\\(e)")
                }
            default:
                if c.isNewline { throw fail("unterminated string") }
                s.append(c)
            }
        }
        throw fail("unterminated string")
    }

    private mutating func literalString() throws(SyntaxError) -> String {
        advance() // '
        var s = ""
        while let c = peek() {
            advance()
            if c == "'" { return s }
            if c.isNewline { break }
            s.append(c)
        }
        throw fail("unterminated string")
    }

    // MARK: Scanning

    private func peek(_ offset: Int = 0) -> Character? {
        index + offset < chars.count ? chars[index + offset] : nil
    }

    private mutating func advance(_ n: Int = 1) {
        for _ in 0..<n where index < chars.count {
            if chars[index].isNewline { line += 1 }
            index += 1
        }
    }

    private mutating func consume(_ c: Character) -> Bool {
        guard peek() == c else { return false }
        advance()
        return true
    }

    private mutating func skipSpaces() {
        while let c = peek(), c == " " || c == "\t" { advance() }
    }

    private mutating func skipWhitespaceCommentsAndNewlines() {
        while let c = peek() {
            if c == " " || c == "\t" || c.isNewline {
                advance()
            } else if c == "#" {
                while let c = peek(), !c.isNewline { advance() }
            } else {
                return
            }
        }
    }

    private mutating func endOfLine() throws(SyntaxError) {
        skipSpaces()
        if peek() == "#" { while let c = peek(), !c.isNewline { advance() } }
        guard let c = peek() else { return }
        guard c.isNewline else { throw fail("unexpected '\(c)' after value (one key = value per line)") }
    }

    private func fail(_ message: String) -> SyntaxError { SyntaxError(line: line, message: message) }
}
