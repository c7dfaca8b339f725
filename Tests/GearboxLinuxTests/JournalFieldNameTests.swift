import GearboxLinux
import Logging
import Testing

@Suite struct JournalFieldNameTests {
    @Test(arguments: [
        ("cpu.domain", "GEARBOX_CPU_DOMAIN"),
        ("event", "GEARBOX_EVENT"),
        ("domain", "GEARBOX_DOMAIN"),
        ("cpus", "GEARBOX_CPUS"),
        ("low_khz", "GEARBOX_LOW_KHZ"),
        ("high_khz", "GEARBOX_HIGH_KHZ"),
        ("p_high", "GEARBOX_P_HIGH"),
        ("queue", "GEARBOX_QUEUE"),
        ("predicted_ms", "GEARBOX_PREDICTED_MS"),
        ("target_ms", "GEARBOX_TARGET_MS"),
        ("watts", "GEARBOX_WATTS"),
        ("gearbox.event", "GEARBOX_EVENT"),
        ("queue-name with space", "GEARBOX_QUEUE_NAME_WITH_SPACE"),
        ("_private", "GEARBOX__PRIVATE"),
        ("9lives", "GEARBOX_9LIVES"),
        ("Mixed.Case", "GEARBOX_MIXED_CASE"),
        ("tür", "GEARBOX_T__R"),  // ü is two UTF-8 bytes, two underscores
        ("", "GEARBOX_"),
    ])
    func metadataKeyBecomesField(key: String, expected: String) {
        let name = JournalFieldName(metadataKey: key)
        #expect(name.rawValue == expected)
        #expect(JournalFieldName.isValid(name.rawValue))
    }

    @Test func longKeysAreCutToJournaldsLimit() {
        let name = JournalFieldName(metadataKey: String(repeating: "a", count: 100))
        #expect(name.rawValue.utf8.count == 64)
        #expect(name.rawValue == "GEARBOX_" + String(repeating: "A", count: 56))
    }

    @Test(arguments: [
        ("MESSAGE", true), ("GEARBOX_P_HIGH", true), ("A9", true),
        ("_PID", false), ("9A", false), ("lower", false), ("WITH-DASH", false), ("", false),
        (String(repeating: "A", count: 65), false), (String(repeating: "A", count: 64), true),
    ])
    func validation(name: String, valid: Bool) {
        #expect(JournalFieldName.isValid(name) == valid)
        #expect((JournalFieldName(validating: name) != nil) == valid)
    }

    @Test(arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func levelMapsToSyslogPriority(level: Logger.Level, priority: Int) {
        #expect(JournalPriority(level).rawValue == priority)
    }

    @Test func recordFlattensNestedMetadataAndLists() {
        let event = LogEvent(
            level: .info, message: "m",
            metadata: ["cpu": ["domain": "big", "count": "2"], "cpus": ["0", "4", "5"], "event": "plan"],
            source: nil, file: "GearboxAgent/Loop.swift", function: "tick()", line: 42
        )
        let record = JournalRecord(event: event, identifier: "gearboxd", label: "gearbox.agent", base: ["event": "base", "host": "h1"])
        let fields = Dictionary(record.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(fields["GEARBOX_CPU_DOMAIN"] == "big")
        #expect(fields["GEARBOX_CPU_COUNT"] == "2")
        #expect(fields["GEARBOX_CPUS"] == "0,4,5")
        #expect(fields["GEARBOX_EVENT"] == "plan")  // the record's own metadata wins over the handler's
        #expect(fields["GEARBOX_HOST"] == "h1")
        #expect(fields["GEARBOX_LOGGER"] == "gearbox.agent")
        #expect(fields["CODE_FILE"] == "GearboxAgent/Loop.swift")
        #expect(fields["CODE_LINE"] == "42")
        #expect(fields["CODE_FUNC"] == "tick()")
        #expect(fields["PRIORITY"] == "6")
        #expect(fields["SYSLOG_IDENTIFIER"] == "gearboxd")
        #expect(record.fields.count == fields.count, "no field name twice")
    }

    @Test func errorAndLabelBecomeFieldsOnce() {
        struct Fault: Error, CustomStringConvertible { var description: String { "write refused" } }
        let event = LogEvent(
            level: .error, message: "m", error: Fault(), metadata: ["logger": "explicit"],
            source: nil, file: "f", function: "g", line: 1
        )
        let record = JournalRecord(event: event, identifier: "gearboxd", label: "gearbox.agent", base: [:])
        let names = record.fields.map(\.name)
        #expect(names.filter { $0 == "GEARBOX_LOGGER" }.count == 1)
        #expect(record.fields.first { $0.name == "GEARBOX_LOGGER" }?.value == "explicit")
        #expect(record.fields.first { $0.name == "GEARBOX_ERROR" }?.value == "write refused")
        #expect(record.fields.first { $0.name == "PRIORITY" }?.value == "3")
    }

    @Test func stderrLineIsReadable() {
        let event = LogEvent(
            level: .warning, message: "plan changed",
            metadata: ["domain": "big", "queue": "web front", "watts": "3.5"],
            source: nil, file: "f", function: "g", line: 1
        )
        let record = JournalRecord(event: event, identifier: "", label: "gearbox.agent", base: [:])
        #expect(
            JournalStderrLogHandler.format(record, label: "gearbox.agent")
                == #"warning gearbox.agent: plan changed domain=big queue="web front" watts=3.5"#
        )
    }
}
