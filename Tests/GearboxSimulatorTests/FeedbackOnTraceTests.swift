import GearboxCore
import GearboxSimulator
import Testing

/// gearbox's feedback on a bursty trace: the correction settles (no oscillation) while the
/// arrivals keep bursting, and the burst bound and feedback together meet the target.
@Suite struct FeedbackOnTraceTests {
    /// Arrivals modelled on the Azure LLM conversation trace at `--time-scale 10`
    /// (docs/traces.md: per-second counts 3.9 times as dispersed as Poisson, per-10-second
    /// counts 27 times): Poisson within 10 s segments whose rates are gamma with mean `rate`
    /// and SCV `rateSCV`. A count over `t` seconds inside one segment has variance
    /// `λt + (λt)² · rateSCV`, so its index of dispersion is `1 + rate · t · rateSCV`: 4 per
    /// second and 31 per segment at 300 requests per second and SCV 0.01. Work is gamma with
    /// mean 2 ms and SCV `workSCV`.
    static func burstyTrace(rate: Double, rateSCV: Double, workSCV: Double, end: Double, seed: UInt64) -> ArrivalTrace {
        var random = RandomStream(seed: seed, stream: 78)
        var arrivals: [TraceArrival] = []
        let segment = 10.0
        var start = 0.0
        while start < end {
            let level = rate * random.gamma(shape: 1 / rateSCV) * rateSCV
            let stop = min(start + segment, end)
            var t = start
            while true {
                t += random.exponential() / level
                guard t < stop else { break }
                arrivals.append(TraceArrival(time: t, work: 0.002 * random.gamma(shape: 1 / workSCV) * workSCV))
            }
            start = stop
        }
        return ArrivalTrace(arrivals: arrivals)
    }

    /// Index of dispersion of the trace's counts over consecutive windows of `seconds`.
    static func dispersion(_ trace: ArrivalTrace, seconds: Double, end: Double) -> Double {
        var counts = [Double](repeating: 0, count: Int((end / seconds).rounded(.down)))
        for a in trace.arrivals {
            let i = Int((a.time / seconds).rounded(.down))
            if i < counts.count { counts[i] += 1 }
        }
        let mean = counts.reduce(0, +) / Double(counts.count)
        let variance = counts.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(counts.count - 1)
        return variance / mean
    }

    /// The settled factor's range, moves per minute and tightenings per minute of `r` from
    /// `settle` to `end`.
    static func settledBand(_ r: SimulationResult, settle: Double, end: Double) -> (lowest: Double, highest: Double, moves: Double, tightenings: Double) {
        let settled = r.feedbackMoves.filter { $0.time >= settle }
        let before = r.feedbackMoves.last { $0.time < settle }?.factor ?? 1
        let factors = settled.map(\.factor) + [before]
        let minutes = (end - settle) / 60
        return (factors.min()!, factors.max()!, Double(settled.count) / minutes,
                Double(settled.filter { $0.measuredOverTarget > 1 }.count) / minutes)
    }

    /// The bursty trace with the wrong model of `LatencyFeedbackTests` (work SCV 3, gearbox
    /// told 1). Without the back-off (`maximumBackoff` 0) the factor runs a sawtooth: windows
    /// of a high-rate segment miss by 10–40 % and tighten it, the windows between, at 0.6–0.85
    /// of the target, relax it by 2 % each (between about 0.55 and 1). With it, from 300 s on
    /// (the settling time) the factor stays within ±15 % of its middle value (the step test's
    /// band), moves less than half as often as without, tightens at most once a minute, and
    /// the p99 over that period meets its 30 ms target. Figures are printed for docs/traces.md.
    @Test(arguments: [UInt64(1), 2])
    func correctionSettlesOnABurstyTrace(seed: UInt64) {
        let settle = 300.0, end = 1500.0
        let trace = Self.burstyTrace(rate: 300, rateSCV: 0.01, workSCV: 3, end: end, seed: seed)
        let perSecond = Self.dispersion(trace, seconds: 1, end: end), perSegment = Self.dispersion(trace, seconds: 10, end: end)
        let workload = LatencyFeedbackTests.workload(rate: 300, scv: 3)
        var undamped = LatencyFeedback.Settings()
        undamped.maximumBackoff = 0
        let r = LatencyFeedbackTests.run(workload, feedback: true, assumedSCV: 1, seed: seed,
                                         traces: ["api": trace], duration: end - settle, warmUp: settle)
        let u = LatencyFeedbackTests.run(workload, feedback: true, assumedSCV: 1, seed: seed,
                                         traces: ["api": trace], duration: end - settle, warmUp: settle, settings: undamped)
        let band = Self.settledBand(r, settle: settle, end: end), old = Self.settledBand(u, settle: settle, end: end)
        let plansPerMinute = Double(r.plans) / (end / 60)
        let smallest = r.feedback["api"]?.smallest ?? 1
        print("seed \(seed): trace dispersion 1 s \(perSecond), 10 s \(perSegment); settled factor \(band.lowest)...\(band.highest) (smallest \(smallest)), \(band.moves) moves/min, \(band.tightenings) tightenings/min, \(plansPerMinute) plans/min, p99 \(r.queues[0].p99 * 1000) ms ±\(r.queues[0].halfWidth * 1000), \(r.power.value) W")
        print("seed \(seed) undamped: settled factor \(old.lowest)...\(old.highest), \(old.moves) moves/min, \(old.tightenings) tightenings/min, \(Double(u.plans) / (end / 60)) plans/min, p99 \(u.queues[0].p99 * 1000) ms ±\(u.queues[0].halfWidth * 1000), \(u.power.value) W")
        // The generator is what it says: dispersion 4 per second, 31 per 10 s (wide: 150 windows).
        #expect(perSecond > 3 && perSecond < 5)
        #expect(perSegment > 18 && perSegment < 45)
        #expect(band.highest / band.lowest <= 1.15 / 0.85)
        #expect(band.moves < old.moves / 2)
        #expect(band.tightenings <= 1)
        let met = r.queues[0].met
        #expect(met)
    }
}
