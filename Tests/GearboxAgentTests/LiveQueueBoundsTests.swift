import GearboxConfig
import GearboxCore
import Testing
@testable import GearboxAgent

/// A live source whose counters imply an insane rate or work (a counter that jumped by 1e15,
/// a source counting bytes instead of requests) makes the queue stale instead of being planned.
@Suite struct LiveQueueBoundsTests {
    static func scrape(_ arrivals: Double, busy: Double) -> [PrometheusText.Sample] {
        try! PrometheusText.parse("req_total{h=\"a\"} \(arrivals)\ndone_total{h=\"a\"} \(arrivals)\nbusy_seconds_total{h=\"a\"} \(busy)\n")
    }

    @Test func absurdArrivalRateMakesTheQueueStale() {
        var queue = LiveQueue(LiveQueueTests.configured, halfLife: 10)
        _ = queue.update(samples: Self.scrape(1000, busy: 10), interval: 1, speed: 1)
        // 1e15 requests in one second: far above 10 million a second.
        let update = queue.update(samples: Self.scrape(1e15, busy: 10), interval: 1, speed: 1)
        #expect(update.becameStale)
        #expect(queue.estimate == nil)
        #expect(queue.staleReason?.contains("arrival rate") == true, "\(queue.staleReason ?? "")")
    }

    @Test func saneCountersStayLive() {
        var queue = LiveQueue(LiveQueueTests.configured, halfLife: 10)
        _ = queue.update(samples: Self.scrape(1000, busy: 10), interval: 1, speed: 1)
        let update = queue.update(samples: Self.scrape(1500, busy: 10.5), interval: 1, speed: 1)
        #expect(!update.becameStale)
        #expect(queue.estimate.map { abs($0.arrivalRate - 500) < 1e-9 } == true)
    }
}
