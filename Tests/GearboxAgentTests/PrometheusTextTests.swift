import Testing
@testable import GearboxAgent

@Suite struct PrometheusTextTests {
    @Test func parsesExpositionText() throws {
        let text = """
            # HELP http_requests_total Requests.
            # TYPE http_requests_total counter
            http_requests_total{handler="/api",code="200"} 1027 1395066363000
            http_requests_total{handler="/api",code="500"} 3
            http_requests_total{handler="/other"} 7
            busy_seconds_total 12.5
            latency_seconds_bucket{le="+Inf"} 10
            escaped{path="a\\"b\\\\c"} NaN
            """
        let samples = try PrometheusText.parse(text)
        #expect(samples.count == 6)
        #expect(PrometheusText.value(of: "http_requests_total", labels: ["handler": "/api"], in: samples) == 1030)
        #expect(PrometheusText.value(of: "busy_seconds_total", labels: [:], in: samples) == 12.5)
        #expect(samples[4].labels["le"] == "+Inf")
        #expect(samples[5].labels["path"] == "a\"b\\c")
        #expect(PrometheusText.value(of: "missing", labels: [:], in: samples) == nil)
    }

    @Test(arguments: [("x{a=1} 2", 1), ("ok 1\n\nx abc", 3), ("x{a=\"1\" 2", 1), ("{a=\"b\"} 1", 1), ("x 1 2 3", 1)])
    func refusesJunkNamingTheLine(text: String, line: Int) {
        #expect {
            try PrometheusText.parse(text)
        } throws: { ($0 as? PrometheusText.ParseError)?.line == line }
    }

    @Test func counterResetsCountTheNewValue() {
        #expect(counterIncrease(from: 100, to: 130) == 30)
        #expect(counterIncrease(from: 100, to: 12) == 12)
    }
}
