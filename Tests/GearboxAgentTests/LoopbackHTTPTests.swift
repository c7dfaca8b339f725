import Foundation
import GearboxTestSupport
import Testing
@testable import GearboxAgent

/// Runs a real HTTP server (Python's http.server) on 127.0.0.1 and scrapes it.
@Suite(.serialized) struct LoopbackHTTPTests {
    static let server = """
        import http.server, socketserver, sys, time
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/slow":
                    time.sleep(2)
                body = b"req_total{h=\\"a\\"} 42\\n" if self.path == "/metrics" else b"no"
                self.send_response(200 if self.path in ("/metrics", "/slow") else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *a): pass
        s = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """

    @Test func scrapesARealEndpointAndTimesOutOnAStuckOne() throws {
        let server = try LoopbackTestServer(script: Self.server)
        defer { server.stop() }
        let port = server.port

        let body = try LoopbackHTTP.get("http://127.0.0.1:\(port)/metrics")
        let samples = try PrometheusText.parse(body)
        #expect(PrometheusText.value(of: "req_total", labels: ["h": "a"], in: samples) == 42)

        #expect { try LoopbackHTTP.get("http://127.0.0.1:\(port)/missing") } throws: {
            ($0 as? LoopbackHTTP.Failure)?.reason == "HTTP status 404"
        }
        let start = ContinuousClock.now
        #expect { try LoopbackHTTP.get("http://127.0.0.1:\(port)/slow", timeout: .milliseconds(200)) } throws: {
            ($0 as? LoopbackHTTP.Failure)?.reason == "timed out reading"
        }
        #expect(ContinuousClock.now - start < .seconds(1.5))
        #expect { try LoopbackHTTP.get("http://10.0.0.1:9100/metrics") } throws: {
            ($0 as? LoopbackHTTP.Failure)?.reason == "only loopback addresses are allowed"
        }
    }
}
