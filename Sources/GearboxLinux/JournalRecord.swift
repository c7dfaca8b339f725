import Logging

/// One log record as journald fields: the fixed ones (MESSAGE, PRIORITY, CODE_*,
/// SYSLOG_IDENTIFIER) and the metadata, flattened and renamed to `GEARBOX_*`.
public struct JournalRecord: Sendable, Equatable {
    /// One metadata entry: the original dotted key and its value as text.
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: String
    }

    public var message: String
    public var priority: JournalPriority
    public var file: String
    public var line: UInt
    public var function: String
    public var identifier: String
    /// Metadata sorted by key; nested dictionaries flattened to dotted keys.
    public var metadata: [Entry]

    /// Builds the record for `event`, with `base` metadata under the event's own.
    public init(event: LogEvent, identifier: String, label: String, base: Logger.Metadata) {
        var merged = base
        if let own = event.metadata {
            merged.merge(own) { _, new in new }
        }
        // The logger's label and the event's error, unless the metadata already names them.
        merged["logger"] = merged["logger"] ?? .string(label)
        if let error = event.error, merged["error"] == nil {
            merged["error"] = .string(String(describing: error))
        }
        let entries = Self.flatten(merged)
        self.message = event.message.description
        self.priority = JournalPriority(event.level)
        self.file = event.file
        self.line = event.line
        self.function = event.function
        self.identifier = identifier
        self.metadata = entries.sorted { $0.key < $1.key }
    }

    /// The `NAME=value` fields in the order they are sent to journald.
    public var fields: [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = [
            ("MESSAGE", message),
            ("PRIORITY", String(priority.rawValue)),
            ("CODE_FILE", file),
            ("CODE_LINE", String(line)),
            ("CODE_FUNC", function),
            ("SYSLOG_IDENTIFIER", identifier),
        ]
        for entry in metadata {
            fields.append((JournalFieldName(metadataKey: entry.key).rawValue, entry.value))
        }
        return fields
    }

    /// Flattens metadata: `["cpu": ["domain": "big"]]` becomes `cpu.domain=big`; arrays of
    /// scalars become comma-separated lists (`cpus=0,1,2`).
    static func flatten(_ metadata: Logger.Metadata, prefix: String = "") -> [Entry] {
        var entries: [Entry] = []
        for (key, value) in metadata {
            let fullKey = prefix.isEmpty ? key : prefix + "." + key
            switch value {
            case .dictionary(let nested):
                entries += flatten(nested, prefix: fullKey)
            default:
                entries.append(Entry(key: fullKey, value: text(of: value)))
            }
        }
        return entries
    }

    private static func text(of value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): return string
        case .stringConvertible(let convertible): return convertible.description
        case .array(let items): return items.map(text(of:)).joined(separator: ",")
        case .dictionary: return value.description
        }
    }
}
