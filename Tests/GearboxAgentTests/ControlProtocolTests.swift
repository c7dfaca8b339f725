import Foundation
import GearboxControl
import GearboxCore
import Testing

@Suite struct ControlProtocolTests {
    static let requests: [ControlRequest] = [
        .status, .plan, .explain, .resume, .reload,
        .override(OverrideRequest(scope: .host, action: .mode(.performance), duration: nil)),
        .override(OverrideRequest(scope: .domain("policy4"), action: .frequency(Kilohertz(1_200_000)), duration: 300)),
        .override(OverrideRequest(scope: .cpus([0, 1, 2, 3, 8]), action: .mode(.auto), duration: 2.5)),
        .override(OverrideRequest(scope: .host, action: .latencyTarget(queue: "web", target: LatencyTarget(kind: .p99, seconds: 0.020)), duration: 60)),
        .override(OverrideRequest(scope: .domain("big"), action: .latencyTarget(queue: "a \"quoted\" q", target: LatencyTarget(kind: .mean, seconds: 0.0015)), duration: nil)),
    ]

    @Test(arguments: requests)
    func everyRequestSurvivesTheWire(_ request: ControlRequest) throws {
        let line = request.json().rendered()
        #expect(!line.contains("\n"))
        #expect(try ControlRequest.decode(line: line) == request)
        // And through an independent JSON parser: the line is plain JSON with the command first.
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["command"] as? String == request.command)
    }

    static let malformed: [(String, ControlFailure.Code, String)] = [
        ("", .malformed, "unexpected end of text"),
        ("{\"command\":\"status\"} x", .malformed, "unexpected text after the value"),
        ("{\"command\":\"status\",}", .malformed, "expected a field name"),
        ("{\"command\":\"status\",\"command\":\"plan\"}", .malformed, "field \"command\" appears twice"),
        ("\"status\"", .malformed, "must be a JSON object, got a string"),
        ("{\"command\":null}", .malformed, "\"command\" must be a string, got null"),
        ("{\"command\":\"STATUS\"}", .unknownCommand, "unknown command \"STATUS\""),
        ("{\"command\":\"override\",\"mode\":\"performance\"}", .malformed, "field \"scope\" is missing"),
        ("{\"command\":\"override\",\"scope\":{\"host\":true}}", .malformed, "exactly one of \"frequency_khz\", \"mode\" or \"queue\""),
        ("{\"command\":\"override\",\"scope\":{\"host\":true},\"mode\":\"auto\",\"frequency_khz\":1}", .malformed, "got \"frequency_khz\" and \"mode\""),
        ("{\"command\":\"override\",\"scope\":{\"host\":false},\"mode\":\"auto\"}", .malformed, "\"scope.host\" must be true"),
        ("{\"command\":\"override\",\"scope\":{\"host\":true,\"domain\":\"a\"},\"mode\":\"auto\"}", .malformed, "\"scope\" must be an object with one field"),
        ("{\"command\":\"override\",\"scope\":{\"cpu\":\"1\"},\"mode\":\"auto\"}", .malformed, "unknown field \"scope.cpu\""),
        ("{\"command\":\"override\",\"scope\":{\"cpus\":\"3-1\"},\"mode\":\"auto\"}", .malformed, "field \"scope.cpus\": \"3-1\" is not a cpulist (range \"3-1\" runs backwards)"),
        ("{\"command\":\"override\",\"scope\":{\"cpus\":4},\"mode\":\"auto\"}", .malformed, "\"scope.cpus\" must be a cpulist string"),
        ("{\"command\":\"override\",\"scope\":{\"host\":true},\"frequency_khz\":1200.5}", .malformed, "\"frequency_khz\" must be a whole number of kHz, got 1200.5"),
        ("{\"command\":\"override\",\"scope\":{\"host\":true},\"frequency_khz\":-5}", .invalid, "\"frequency_khz\" must be positive"),
        ("{\"command\":\"override\",\"scope\":{\"host\":true},\"frequency_khz\":\"1200\"}", .malformed, "got a string"),
        ("{\"command\":\"override\",\"scope\":{\"host\":true},\"mode\":\"auto\",\"duration_s\":\"5m\"}", .malformed, "\"duration_s\" must be a number of seconds, got a string"),
        ("{\"command\":\"override\",\"scope\":{\"host\":true},\"mode\":\"auto\",\"duration_s\":0}", .invalid, "\"duration_s\" must be more than 0"),
        ("{\"command\":\"override\",\"queue\":\"web\"}", .malformed, "field \"target\" is missing"),
        ("{\"command\":\"override\",\"queue\":\"web\",\"target\":{\"p90_ms\":5}}", .malformed, "unknown field \"target.p90_ms\""),
        ("{\"command\":\"override\",\"queue\":\"web\",\"target\":{\"p99_ms\":0}}", .invalid, "\"target.p99_ms\" must be positive"),
        ("{\"command\":\"override\",\"mode\":\"auto\",\"scope\":{\"host\":true},\"target\":{\"p99_ms\":5}}", .malformed, "\"target\" belongs with \"queue\""),
        ("{\"command\":\"override\",\"scope\":{\"host\":true},\"mode\":\"auto\",\"durations\":1}", .malformed, "unknown field \"durations\" for command \"override\""),
    ]

    @Test(arguments: malformed)
    func badRequestsAreNamed(_ line: String, _ code: ControlFailure.Code, _ fragment: String) {
        do {
            let request = try ControlRequest.decode(line: line)
            Issue.record("accepted \(line) as \(request)")
        } catch {
            #expect(error.code == code, "\(line): \(error)")
            #expect(error.message.contains(fragment), "\(line): \(error.message)")
        }
    }

    @Test func wholeNumbersWrittenWithExponentsAreFrequencies() throws {
        let request = try ControlRequest.decode(line: #"{"command":"override","scope":{"host":true},"frequency_khz":1.5e6}"#)
        #expect(request == .override(OverrideRequest(scope: .host, action: .frequency(Kilohertz(1_500_000)), duration: nil)))
    }

    @Test func responsesRoundTrip() throws {
        let document = JSONValue.object([("mode", .string("service")), ("ok", .bool(false)), ("n", .int(3))])
        let success = ControlResponse.success(document)
        #expect(success.line == "{\"ok\":true,\"mode\":\"service\",\"n\":3}\n")
        #expect(ControlResponse.decode(line: success.line) == .success(.object([("mode", .string("service")), ("n", .int(3))])))
        let failure = ControlResponse.failure(ControlFailure(.permissionDenied, "permission denied: changes need root or group gearbox"))
        #expect(failure.line == #"{"ok":false,"error":{"code":"permission_denied","message":"permission denied: changes need root or group gearbox"}}"# + "\n")
        #expect(ControlResponse.decode(line: failure.line) == failure)
        #expect(ControlResponse.decode(line: "HTTP/1.1 400 Bad Request") == .failure(ControlFailure(.failed, "the agent's answer is not JSON at byte 1: unexpected character 'H', expected a value")))
    }
}

@Suite struct JSONParserTests {
    /// Texts whose value Foundation's parser agrees on; rendered back they compare as values.
    static let valid = [
        #"{"a":[1,-2,3.5,1e3,-0.25E-2,true,false,null],"b":{"c":"d"},"e":""}"#,
        #"  [ "\u00e9\ud83d\ude00\n\t\"\\\/" , 0 , -7.5 ]  "#,
        #""plain""#, "12345678901234", "[]", "{}", #"{"nested":[[[[{"x":[]}]]]]}"#,
    ]

    @Test(arguments: valid)
    func agreesWithFoundation(_ text: String) throws {
        let ours = try JSONParser.parse(text)
        let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        let ourAsFoundation = try JSONSerialization.jsonObject(with: Data(ours.rendered().utf8), options: [.fragmentsAllowed])
        let canonical = { (value: Any) throws -> String in
            String(decoding: try JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]), as: UTF8.self)
        }
        #expect(try canonical(ourAsFoundation) == canonical(theirs), "\(text) -> \(ours.rendered())")
        #expect(try JSONParser.parse(ours.rendered()) == ours)
    }

    @Test func decodesEscapesToTheRightCharacters() throws {
        #expect(try JSONParser.parse(#""\u00e9\ud83d\ude00\u0041""#) == .string("é😀A"))
        #expect(try JSONParser.parse("\"é—ok\"") == .string("é—ok"))
    }

    static let invalid: [(String, String)] = [
        ("[1,]", "expected a value"), ("01", "unexpected text after the value"), ("[1 2]", "expected ',' or ']'"),
        ("\"a", "unterminated string"), ("\"a\u{01}\"", "control character"), (#""\ud800""#, "lone surrogate"),
        (#""\x""#, "unknown escape"), ("tru", "expected true"), ("-", "expected a digit"), ("1.", "expected a digit after '.'"),
        ("1e", "expected a digit in the exponent"), ("1e999", "out of range"), ("{\"a\" 1}", "expected ':' after \"a\""),
        (String(repeating: "[", count: 100) + String(repeating: "]", count: 100), "nested deeper than 64 levels"),
    ]

    @Test(arguments: invalid)
    func refusesWithAReason(_ text: String, _ reason: String) {
        #expect {
            _ = try JSONParser.parse(text)
        } throws: { error in
            (error as? JSONParser.Failure)?.reason.contains(reason) == true
        }
    }
}
