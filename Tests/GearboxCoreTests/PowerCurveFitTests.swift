import GearboxCore
import Testing

/// The constrained fit on its own: exact data gives the model back; any data, however odd,
/// gives a curve that is non-negative, rising and convex.
@Suite struct PowerCurveFitTests {
    static let ratios = [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]

    static func observations(
        count: Int, seed: UInt64, power: (Double) -> Double, idle: Double, noise: Double = 0
    ) -> [PowerCurveFit.Observation] {
        var random = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            let duration = 1 + random.unit()
            var busy: [PowerCurveFit.BusyTime] = []
            var joules = idle * duration
            for r in ratios {
                let seconds = 4 * duration * random.unit() * random.unit()
                busy.append(PowerCurveFit.BusyTime(ratio: r, seconds: seconds))
                joules += seconds * power(r)
            }
            return PowerCurveFit.Observation(duration: duration, joules: max(0, joules * (1 + noise * (2 * random.unit() - 1))), busy: [busy])
        }
    }

    @Test func exactDataGivesTheModelBack() throws {
        let data = Self.observations(count: 50, seed: 3, power: { 0.3 + 2 * Math.pow($0, 2.5) }, idle: 4)
        let fit = try #require(PowerCurveFit.fit(data, classes: 1))
        let curve = try #require(fit.curves.first)
        #expect(abs(curve.aboveIdle - 0.3) < 1e-3)
        #expect(abs(curve.dynamic - 2) < 1e-3)
        #expect(abs(curve.exponent - 2.5) < 1e-3)
        #expect(abs(fit.idleWatts - 4) < 1e-3)
        #expect(fit.rSquared > 0.999999)
        #expect(fit.exponentFitted)
    }

    @Test("never a negative or non-convex curve, whatever the counters say")
    func neverNegativeOrNonConvex() throws {
        // Power falling with frequency, power below idle, pure noise, a spike at one frequency.
        let oddCurves: [(Double) -> Double] = [
            { 3 - 2 * $0 }, { -1 + 0 * $0 }, { _ in 0 }, { $0 == 0.6 ? 9 : 1 }, { 5 * Math.pow($0, 8) },
        ]
        for (i, curve) in oddCurves.enumerated() {
            for seed in UInt64(1)...5 {
                let data = Self.observations(count: 40, seed: seed, power: curve, idle: 2, noise: 0.5)
                guard let fit = PowerCurveFit.fit(data, classes: 1) else { continue }
                let c = fit.curves[0]
                #expect(c.aboveIdle >= 0 && c.dynamic >= 0, "curve \(i) seed \(seed): \(c)")
                #expect(PowerCurveFit.exponentRange.contains(c.exponent), "curve \(i) seed \(seed): \(c)")
                #expect(fit.idleWatts >= 0)
                // Convex and rising on a fine grid: second differences ≥ 0, first ≥ 0.
                let values = stride(from: 0.05, through: 1.0, by: 0.05).map { c.watts(ratio: $0) }
                #expect(values.allSatisfy { $0 >= 0 })
                for k in 1..<(values.count - 1) {
                    #expect(values[k + 1] - 2 * values[k] + values[k - 1] >= -1e-9, "curve \(i) seed \(seed)")
                    #expect(values[k] >= values[k - 1] - 1e-12)
                }
            }
        }
    }

    @Test("two frequencies do not identify the exponent: it is held and said so")
    func twoFrequenciesHoldTheExponent() throws {
        var data: [PowerCurveFit.Observation] = []
        for j in 0..<30 {
            let low = Double(j % 5), high = Double(j % 3)
            let joules: Double = 3 + low * 1.1 + high * 2.0
            let busy = [PowerCurveFit.BusyTime(ratio: 0.5, seconds: low), PowerCurveFit.BusyTime(ratio: 1, seconds: high)]
            data.append(PowerCurveFit.Observation(duration: 1, joules: joules, busy: [busy]))
        }
        let fit = try #require(PowerCurveFit.fit(data, classes: 1, fixedExponent: 3))
        #expect(!fit.exponentFitted)
        #expect(fit.curves[0].exponent == 3)
        #expect(fit.curves[0].frequenciesSeen == 2)
    }
}
