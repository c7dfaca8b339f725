import GearboxCore
import GearboxSimulator
import Testing

@Suite struct LatencyHistogramTests {
    /// Quantiles of exponential samples against the exact `−ln(1 − q)/rate`, well within
    /// the sampling error plus the bucket width (0.27 %).
    @Test func quantilesOfExponentialSamples() {
        var h = LatencyHistogram()
        var stream = RandomStream(seed: 3)
        let rate = 250.0
        for _ in 0..<1_000_000 { h.record(stream.exponential() / rate) }
        for q in [0.5, 0.9, 0.95, 0.99] {
            let exact = -Math.log(1 - q) / rate
            #expect(abs(h.quantile(q) / exact - 1) < 0.006, "q=\(q): \(h.quantile(q)) vs \(exact)")
        }
        #expect(abs(h.mean * rate - 1) < 0.005)
        #expect(abs(h.fractionAbove(-Math.log(0.01) / rate) - 0.01) < 0.0005)
    }

    /// Evenly spread values 1 µs … 100 ms: the q-quantile is q · 100 ms.
    @Test func quantilesOfEvenlySpreadValues() {
        var h = LatencyHistogram()
        for i in 1...100_000 { h.record(Double(i) * 1e-6) }
        for q in [0.01, 0.25, 0.5, 0.95, 0.999] {
            #expect(abs(h.quantile(q) / (q * 0.1) - 1) < 0.003, "q=\(q): \(h.quantile(q))")
        }
        #expect(h.count == 100_000 && h.maximum == Double(100_000) * 1e-6)
    }

    @Test func extremesAndMergingAndEmpty() {
        var a = LatencyHistogram(), b = LatencyHistogram()
        #expect(a.quantile(0.5).isNaN && a.mean.isNaN)
        a.record(0)
        a.record(1e-12)
        b.record(1e9)
        a.merge(b)
        #expect(a.count == 3 && a.maximum == 1e9)
        #expect(a.quantile(0.99) <= 1e9)
        #expect(a.quantile(0.1) < 1e-8)
    }
}
