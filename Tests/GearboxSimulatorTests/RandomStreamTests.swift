import GearboxCore
import GearboxSimulator
import Testing

@Suite struct RandomStreamTests {
    @Test func sameSeedAndStreamRepeat() {
        var a = RandomStream(seed: 42, stream: 7), b = RandomStream(seed: 42, stream: 7)
        var c = RandomStream(seed: 42, stream: 8)
        let xs = (0..<100).map { _ in a.next() }
        #expect(xs == (0..<100).map { _ in b.next() })
        #expect(xs != (0..<100).map { _ in c.next() })
    }

    /// Sample mean and SCV of `UnitWork` draws within a few standard errors of 1 and the SCV.
    @Test(arguments: [0.0, 0.4, 1.0, 1.5, 2.0, 4.0])
    func unitWorkHasMeanOneAndItsSCV(scv: Double) {
        var stream = RandomStream(seed: 9, stream: UInt64(scv * 10))
        let unit = UnitWork(scv: scv)
        let n = 400_000
        var sum = 0.0, sumSquares = 0.0
        for _ in 0..<n {
            let x = unit.draw(&stream)
            #expect(x >= 0)
            sum += x
            sumSquares += x * x
        }
        let mean = sum / Double(n)
        let variance = sumSquares / Double(n) - mean * mean
        // Standard error of the mean is sqrt(scv / n) ≤ 0.0032.
        #expect(abs(mean - 1) < 0.01, "mean \(mean)")
        #expect(abs(variance / (mean * mean) - scv) < 0.05 * max(scv, 0.2), "scv \(variance / (mean * mean))")
    }

    @Test func uniformStaysInItsInterval() {
        var s = RandomStream(seed: 1)
        for _ in 0..<100_000 {
            let u = s.uniform(), v = s.uniformPositive()
            #expect(u >= 0 && u < 1 && v > 0 && v <= 1)
        }
    }
}
