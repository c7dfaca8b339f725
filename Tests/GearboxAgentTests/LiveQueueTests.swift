import GearboxConfig
import GearboxCore
import Testing
@testable import GearboxAgent

@Suite struct LiveQueueTests {
    static let source = QueueSource(location: .file("/m"), arrivals: "req_total", completions: "done_total",
                                    busySeconds: "busy_seconds_total", histogram: "latency_seconds", labels: ["h": "a"])
    static let configured = AgentQueue(
        queue: WorkQueue(name: "api", arrivalRate: 1, meanWork: 0.001, target: LatencyTarget(kind: .mean, seconds: 0.01)),
        source: source)

    static func scrape(_ arrivals: Double, _ done: Double, _ busy: Double, _ sum: Double, _ count: Double) -> [PrometheusText.Sample] {
        let text = """
            req_total{h="a"} \(arrivals)
            req_total{h="b"} 99999
            done_total{h="a"} \(done)
            busy_seconds_total{h="a"} \(busy)
            latency_seconds_sum{h="a"} \(sum)
            latency_seconds_count{h="a"} \(count)
            """
        return try! PrometheusText.parse(text)
    }

    @Test func ratesAndWorkFromCounterDeltas() {
        var queue = LiveQueue(Self.configured, halfLife: 10)
        _ = queue.update(samples: Self.scrape(1000, 1000, 10, 5, 1000), interval: 1, speed: 0.5)
        #expect(queue.estimate == nil) // one read gives no rate yet
        _ = queue.update(samples: Self.scrape(1200, 1200, 10.4, 6, 1200), interval: 1, speed: 0.5)
        let estimate = queue.estimate!
        #expect(abs(estimate.arrivalRate - 200) < 1e-9)
        // 0.4 busy seconds over 200 completions at speed 0.5: 2 ms wall, 1 ms of reference work;
        // the seed was 1 ms, so the average stays there.
        #expect(abs(estimate.meanWork - 0.002 * 0.5) < 1e-12)
        #expect(abs(queue.measuredLatency! - 0.005) < 1e-12)
    }

    @Test func counterResetIsNotANegativeRate() {
        var queue = LiveQueue(Self.configured, halfLife: 10)
        _ = queue.update(samples: Self.scrape(1000, 1000, 10, 5, 1000), interval: 1, speed: 1)
        _ = queue.update(samples: Self.scrape(1100, 1100, 10.1, 5.5, 1100), interval: 1, speed: 1)
        _ = queue.update(samples: Self.scrape(90, 90, 0.09, 0.4, 90), interval: 1, speed: 1)
        #expect(queue.estimate!.arrivalRate > 0)
    }

    @Test func staleOnceThenRecovers() {
        var queue = LiveQueue(Self.configured, halfLife: 10)
        _ = queue.update(samples: Self.scrape(1000, 1000, 10, 5, 1000), interval: 1, speed: 1)
        _ = queue.update(samples: Self.scrape(1100, 1100, 10.1, 5.5, 1100), interval: 1, speed: 1)
        #expect(queue.markStale("connection refused").becameStale)
        #expect(!queue.markStale("connection refused").becameStale)
        #expect(queue.estimate == nil)
        #expect(queue.update(samples: [], interval: 1, speed: 1).becameStale == false)
        #expect(queue.update(samples: Self.scrape(1200, 1200, 10.2, 6, 1200), interval: 1, speed: 1).recovered)
        _ = queue.update(samples: Self.scrape(1300, 1300, 10.3, 6.5, 1300), interval: 1, speed: 1)
        #expect(queue.estimate != nil)
    }

    @Test func aJumpInArrivalsIsABurst() {
        var queue = LiveQueue(Self.configured, halfLife: 10)
        _ = queue.update(samples: Self.scrape(0, 0, 0, 0, 0), interval: 1, speed: 1)
        _ = queue.update(samples: Self.scrape(100, 100, 0.1, 0.5, 100), interval: 1, speed: 1)
        let update = queue.update(samples: Self.scrape(600, 600, 0.6, 1, 600), interval: 1, speed: 1)
        #expect(update.burst)
        // 500 in one tick: believed down to 500 − 2 √500.
        #expect(abs(queue.estimate!.arrivalRate - (500 - 2 * 500.0.squareRoot())) < 1e-9)
    }
}
