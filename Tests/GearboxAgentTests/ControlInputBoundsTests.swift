import GearboxControl
import GearboxCore
import Testing

/// Numbers and nesting from the control socket, which any local user may write to: refused
/// before use, each with the field it names (issue 17: a p99 target of 1e300 ms was taken,
/// and then `status` trapped for everyone while it lasted).
@Suite struct ControlInputBoundsTests {
    static func failure(_ line: String) -> ControlFailure? {
        do {
            let request = try ControlRequest.decode(line: line)
            Issue.record("accepted \(line.prefix(120)) as \(request)")
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: ["[", "{\"a\":"])
    func aHundredThousandNestedLevelsAreRefused(opener: String) {
        let text = String(repeating: opener, count: 100_000)
        do {
            _ = try JSONParser.parse(text)
            Issue.record("accepted")
        } catch {
            #expect(error.reason.contains("nested"), "\(error)")
            // Refused where the limit was crossed, not after reading the whole text.
            #expect(error.offset < 64 * opener.utf8.count + 1, "\(error)")
        }
    }

    @Test(arguments: ["1e300", "1e-300", "1.7976931348623157e308", "0.001", "3600001"])
    func anOutOfRangeLatencyTargetIsRefusedAsInvalid(value: String) throws {
        let error = try #require(Self.failure(#"{"command":"override","queue":"web","target":{"p99_ms":"# + value + #"},"duration_s":20}"#))
        #expect(error.code == .invalid, "\(error)")
        #expect(error.message.contains("target.p99_ms"), "\(error)")
    }

    @Test(arguments: ["0.01", "20", "3600000"])
    func latencyTargetsFromTenMicrosecondsToAnHourAreTaken(value: String) throws {
        let request = try ControlRequest.decode(line: #"{"command":"override","queue":"web","target":{"mean_ms":"# + value + "}}")
        guard case .override(let o) = request, case .latencyTarget(_, let target) = o.action else {
            Issue.record("\(request)"); return
        }
        #expect(abs(target.seconds * 1000 - Double(value)!) < 1e-9 * Double(value)!)
    }

    /// 1200 kHz is 1.2 MHz: a frequency written in MHz by mistake, refused with a hint.
    @Test func aFrequencyInMegahertzIsRefusedWithAHint() throws {
        let error = try #require(Self.failure(#"{"command":"override","scope":{"host":true},"frequency_khz":1200}"#))
        #expect(error.code == .invalid && error.message.contains("frequency_khz") && error.message.contains("MHz"), "\(error)")
    }

    @Test(arguments: ["30000000", "9007199254740991"])
    func aFrequencyAbove20GHzIsRefused(value: String) throws {
        let error = try #require(Self.failure(#"{"command":"override","scope":{"host":true},"frequency_khz":"# + value + "}"))
        #expect(error.code == .invalid && error.message.contains("frequency_khz"), "\(error)")
    }

    /// The 64 KB request of issue 17: refused without expanding 8,000 ranges of 65,536 CPUs.
    @Test func aCPUScopeRepeatingHugeRangesIsRefusedCheaply() throws {
        var cpus = ""
        while cpus.utf8.count < 64_000 { cpus += "0-65535," }
        let line = #"{"command":"override","scope":{"cpus":""# + cpus.dropLast() + #""},"mode":"performance"}"#
        let clock = ContinuousClock()
        var error: ControlFailure?
        let elapsed = clock.measure { error = Self.failure(line) }
        #expect(error?.code == .malformed && error?.message.contains("scope.cpus") == true, "\(String(describing: error))")
        #expect((error?.message.count ?? 0) < 300, "the answer repeats the request")
        #expect(elapsed < .seconds(2), "\(elapsed)")
    }

    /// An object of many short fields costs time in proportion to its length: 20,000 fields
    /// take a fraction of a second (searching the fields for duplicates took about 30 s).
    @Test func anObjectOfTwentyThousandFieldsParsesInLinearTime() throws {
        let text = "{" + (0..<20_000).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "}"
        let clock = ContinuousClock()
        var value: JSONValue = .null
        let elapsed = try clock.measure { value = try JSONParser.parse(text) }
        #expect(value.objectFields?.count == 20_000)
        #expect(value["k19999"]?.intValue == 19_999)
        #expect(elapsed < .seconds(10), "\(elapsed)")
    }
}
