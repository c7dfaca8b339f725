import GearboxCore
import Testing

/// `LatencyFeedback`'s control law on given windows, against values worked out by hand.
@Suite struct LatencyFeedbackControllerTests {
    /// A miss tightens by gain × ln(measured / target) in log space at once; slack relaxes by at
    /// most `relaxStep` per window, at once after a single miss (back-off level 1 holds
    /// nothing); inside the dead band nothing moves.
    @Test func tightensAtOnceRelaxesSlowly() {
        var f = LatencyFeedback()
        // 2× the target: factor exp(-0.7 ln 2) = 2^-0.7.
        let tightened = f.observe("api", measured: 0.040, target: 0.020, saturated: false)
        #expect(abs(tightened! - 0.615_572_206_672_458_3) < 1e-12)
        // Back-off level 1: no hold, and the ceiling is the factor that missed, 1 (no cap).
        #expect(f.corrections["api"]?.backoff == 1 && f.corrections["api"]?.hold == 0 && f.corrections["api"]?.ceiling == 1)
        // 0.9 × the target: inside the dead band (relax only below 0.85).
        #expect(f.observe("api", measured: 0.018, target: 0.020, saturated: false) == nil)
        // Half the target: a relaxation by the step, e^0.02, not by 0.7 ln 2.
        let relaxed = f.observe("api", measured: 0.010, target: 0.020, saturated: false)
        #expect(abs(relaxed! - 0.615_572_206_672_458_3 * 1.020_201_340_026_755_8) < 1e-12)
        #expect(f.corrections["api"]?.moves == 2)
    }

    /// Back-off: a single miss holds nothing; a second tightening within the forget period
    /// (level 2) holds slack for 3 × 2 = 6 windows; slack relaxes only up to the factor that
    /// missed (the ceiling) while the level is above 0, and each 30 windows without a miss lower
    /// the level by one; at 0 the ceiling is forgotten.
    @Test func backOffHoldsLongerAndRelaxesToTheFactorThatMissed() {
        var f = LatencyFeedback()
        let a = Math.exp(-0.7 * Math.log(1.5))
        #expect(abs(f.observe("api", measured: 0.030, target: 0.020, saturated: false)! - a) < 1e-12)
        // 0.7 × the target: relaxes by e^0.02 at once (no hold at level 1; the ceiling is 1).
        let missed = a * Math.exp(0.02)
        #expect(abs(f.observe("api", measured: 0.014, target: 0.020, saturated: false)! - missed) < 1e-12)
        // Missed again at `missed`: tightened from it, which becomes the ceiling; level 2.
        let b = missed * a
        #expect(abs(f.observe("api", measured: 0.030, target: 0.020, saturated: false)! - b) < 1e-12)
        #expect(f.corrections["api"]?.backoff == 2 && f.corrections["api"]?.hold == 6)
        for _ in 0..<6 { #expect(f.observe("api", measured: 0.014, target: 0.020, saturated: false) == nil) }
        #expect(abs(f.observe("api", measured: 0.014, target: 0.020, saturated: false)! - b * Math.exp(0.02)) < 1e-12)
        // ln(missed / b) = 0.7 ln 1.5 = 0.284: 14 steps of 0.02 (windows 7–20 after the miss)
        // and a last one of 0.004 (window 21) reach the ceiling; the level falls to 1 at window
        // 30, and nothing moves until window 60, where it falls to 0 and the slack relaxes past
        // the old ceiling.
        for _ in 8...59 { f.observe("api", measured: 0.014, target: 0.020, saturated: false) }
        #expect(abs(f.factor("api") - missed) < 1e-12)
        #expect(f.corrections["api"]?.backoff == 1)
        #expect(abs(f.observe("api", measured: 0.014, target: 0.020, saturated: false)! - missed * Math.exp(0.02)) < 1e-12)
        #expect(f.corrections["api"]?.backoff == 0)
    }

    /// Clear slack (under half the target) relaxes by up to `fastRelaxStep` (0.1) per window
    /// and ends the back-off's hold; slack nearer the target stays below the ceiling (the factor
    /// the last miss started from, 0.2 here) while the back-off lasts.
    @Test func clearSlackRelaxesFaster() {
        var f = LatencyFeedback()
        for _ in 0..<20 { f.observe("api", measured: 1, target: 0.020, saturated: false) }
        #expect(f.factor("api") == 0.2)
        #expect(f.corrections["api"]?.backoff == 4 && f.corrections["api"]?.hold == 24)
        // 0.3 × the target: 0.7 |ln 0.3| = 0.84, capped at 0.1: factor 0.2 e^0.1.
        let fast = f.observe("api", measured: 0.006, target: 0.020, saturated: false)
        #expect(abs(fast! - 0.2 * 1.105_170_918_075_647_6) < 1e-12)
        // 0.6 × the target: above the ceiling, nothing.
        #expect(f.observe("api", measured: 0.012, target: 0.020, saturated: false) == nil)
    }

    /// A real drop in load after repeated misses (back-off at its top level, hold 24 windows,
    /// ceiling at the floor): clear slack brings the factor from 0.2 back to 1 after
    /// ⌈ln 5 / 0.1⌉ = 17 windows (under 3 minutes of 10 s windows), as without the back-off.
    @Test func clearSlackAfterBackOffComesBackWithinMinutes() {
        var g = LatencyFeedback()
        for _ in 0..<20 { g.observe("api", measured: 1, target: 0.020, saturated: false) }
        for _ in 0..<16 { g.observe("api", measured: 0.002, target: 0.020, saturated: false) }
        #expect(abs(g.factor("api") - 0.2 * 4.953_032_424_395_115) < 1e-9)
        g.observe("api", measured: 0.002, target: 0.020, saturated: false)
        #expect(g.factor("api") == 1)
    }

    /// Anti-windup: never below `minimumFactor`, never above 1, and no tightening while the
    /// last plan could not meet the tightened target.
    @Test func boundsAndSaturationStopTheIntegrator() {
        var f = LatencyFeedback()
        for _ in 0..<20 { f.observe("api", measured: 1, target: 0.020, saturated: false) }
        #expect(f.factor("api") == 0.2)
        var g = LatencyFeedback()
        #expect(g.observe("api", measured: 0.040, target: 0.020, saturated: true) == nil)
        #expect(g.factor("api") == 1)
        for _ in 0..<10 { g.observe("api", measured: 0.001, target: 0.020, saturated: false) }
        #expect(g.factor("api") == 1)
        // Bad measurements are ignored.
        #expect(g.observe("api", measured: .nan, target: 0.020, saturated: false) == nil)
        #expect(g.observe("api", measured: 0.01, target: 0, saturated: false) == nil)
    }

    /// The planning workload carries each queue's corrected target; other fields unchanged.
    @Test func planningWorkloadScalesTargets() {
        var f = LatencyFeedback()
        f.observe("a", measured: 0.040, target: 0.020, saturated: false)
        let w = Workload(queues: [
            WorkQueue(name: "a", arrivalRate: 10, meanWork: 0.001, target: LatencyTarget(kind: .p99, seconds: 0.020)),
            WorkQueue(name: "b", arrivalRate: 10, meanWork: 0.001, target: LatencyTarget(kind: .mean, seconds: 0.010)),
        ])
        let planned = f.planningWorkload(w)
        #expect(abs(planned.queues[0].target.seconds - 0.020 * 0.615_572_206_672_458_3) < 1e-12)
        #expect(planned.queues[1] == w.queues[1])
        #expect(f.settings.minimumSamples(.p99) == 2000 && f.settings.minimumSamples(.p95) == 400)
    }
}
