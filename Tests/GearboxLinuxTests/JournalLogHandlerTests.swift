import Foundation
import GearboxLinux
import Glibc
import Logging
import Testing

/// Records sent through the real libsystemd to a real journald, read back with journalctl.
@Suite(.serialized, .enabled(if: runningAsRoot, "needs root to start systemd-journald"))
struct JournalLogHandlerTests {
    private func uniqueID() -> String { "t\(getpid())x\(UInt64.random(in: 0...UInt64.max))" }

    @Test func recordsArriveWithPriorityCodeLocationAndGearboxFields() throws {
        let testID = uniqueID()
        var logger = Logger(label: "gearbox.test") { label in
            JournalLogHandler(label: label, identifier: "gearbox-test", logLevel: .trace)
        }
        logger[metadataKey: "test.id"] = "\(testID)"
        var warningLine: UInt = 0
        var debugLine: UInt = 0
        let delivered = try JournalTestDaemon.withJournal {
            warningLine = #line + 1
            logger.warning("plan changed", metadata: [
                "event": "plan", "domain": "big", "cpus": ["4", "5"], "low_khz": "408000", "high_khz": "1800000",
                "p_high": "0.25", "queue": "web", "predicted_ms": "9.5", "target_ms": "10", "watts": "3.25",
                "cpu.domain": "policy4", "odd key-ü": "x",
            ])
            debugLine = #line + 1
            logger.debug("first line\nsecond line", metadata: ["event": "detail"])
            return try JournalTestDaemon.entries(field: "GEARBOX_TEST_ID", value: testID, count: 2)
        }
        try #require(delivered.count == 2, "entries read back: \(delivered)")
        let warning = try #require(delivered.first { $0["GEARBOX_EVENT"] == "plan" })
        #expect(warning["MESSAGE"] == "plan changed")
        #expect(warning["PRIORITY"] == "4")
        #expect(warning["CODE_FILE"] == #fileID)
        #expect(warning["CODE_LINE"] == String(warningLine))
        #expect(warning["CODE_FUNC"] == "recordsArriveWithPriorityCodeLocationAndGearboxFields()")
        #expect(warning["SYSLOG_IDENTIFIER"] == "gearbox-test")
        #expect(warning["_PID"] == String(getpid()))
        let expected = [
            "GEARBOX_DOMAIN": "big", "GEARBOX_CPUS": "4,5", "GEARBOX_LOW_KHZ": "408000",
            "GEARBOX_HIGH_KHZ": "1800000", "GEARBOX_P_HIGH": "0.25", "GEARBOX_QUEUE": "web",
            "GEARBOX_PREDICTED_MS": "9.5", "GEARBOX_TARGET_MS": "10", "GEARBOX_WATTS": "3.25",
            "GEARBOX_CPU_DOMAIN": "policy4", "GEARBOX_ODD_KEY___": "x", "GEARBOX_LOGGER": "gearbox.test",
        ]
        for (field, value) in expected {
            #expect(warning[field] == value, "\(field)")
        }
        let debug = try #require(delivered.first { $0["GEARBOX_EVENT"] == "detail" })
        #expect(debug["PRIORITY"] == "7")
        #expect(debug["MESSAGE"] == "first line\nsecond line")
        #expect(debug["CODE_LINE"] == String(debugLine))
    }

    @Test func levelBelowTheHandlersIsNotSent() throws {
        let testID = uniqueID()
        var logger = Logger(label: "gearbox.test") { JournalLogHandler(label: $0, identifier: "gearbox-test") }
        logger[metadataKey: "test.id"] = "\(testID)"
        let entries = try JournalTestDaemon.withJournal {
            logger.debug("dropped")
            logger.info("kept")
            // One datagram socket, read in order: once "kept" is in, "dropped" would be too.
            return try JournalTestDaemon.entries(field: "GEARBOX_TEST_ID", value: testID, count: 1)
        }
        #expect(entries.map { $0["MESSAGE"] } == ["kept"])
    }

    @Test func bootstrapSendsToJournalOrStderrAsAsked() throws {
        let automaticID = uniqueID()
        let stderrID = uniqueID()
        let (automatic, toStderr, entries, strays) = try JournalTestDaemon.withJournal {
            let toStderr = try Child.run(TestBinaries.probe, ["log", "stderr", stderrID])
            let automatic = try Child.run(TestBinaries.probe, ["log", "automatic", automaticID])
            let entries = try JournalTestDaemon.entries(field: "GEARBOX_TEST_ID", value: automaticID, count: 1)
            // journald reads its socket in order: the earlier stderr run's record would be in by now.
            let strays = try JournalTestDaemon.entries(field: "GEARBOX_TEST_ID", value: stderrID, count: 0)
            return (automatic, toStderr, entries, strays)
        }
        #expect(automatic.status == 0 && automatic.standardError.isEmpty, "\(automatic)")
        let entry = try #require(entries.first)
        #expect(entry["SYSLOG_IDENTIFIER"] == "gearbox-probe")
        #expect(entry["PRIORITY"] == "5")
        #expect(entry["GEARBOX_CPUS"] == "0,1")
        #expect(toStderr.status == 0)
        #expect(toStderr.standardError.contains("notice gearbox.probe: probe record cpus=0,1 event=probe test.id=\(stderrID)"))
        #expect(strays.isEmpty, "the stderr record went nowhere else")
    }

    @Test func automaticFallsBackToStderrWithoutJournalSocket() throws {
        // A private mount namespace with an empty /run/systemd/journal: no journal socket at all.
        let testID = uniqueID()
        let script = "mkdir -p /run/systemd/journal && mount -t tmpfs none /run/systemd/journal && exec \"$0\" log automatic \"$1\""
        let result = try Child.run("/usr/bin/unshare", ["-m", "/bin/sh", "-c", script, TestBinaries.probe, testID])
        #expect(result.status == 0, "\(result)")
        #expect(result.standardError.contains("probe record cpus=0,1 event=probe test.id=\(testID)"))
    }
}

@Suite struct JournalReachabilityTests {
    @Test func staleSocketFileIsNotAJournal() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("socket")
        #expect(!JournalLogging.journalIsReachable(socketPath: path))  // absent

        let listener = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        #expect(JournalLogging.journalIsReachable(socketPath: path))  // live
        close(listener)
        #expect(!JournalLogging.journalIsReachable(socketPath: path))  // file left behind, nobody listening
        #expect(JournalLogging.resolve(.stderr) == .stderr)
        #expect(JournalLogging.resolve(.journald) == .journald)
    }
}
