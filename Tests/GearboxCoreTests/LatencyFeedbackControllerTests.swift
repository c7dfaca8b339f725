import GearboxCore
import Testing

/// `LatencyFeedback`'s control law on given windows, against values worked out by hand.
@Suite struct LatencyFeedbackControllerTests {
    /// A miss tightens by gain × ln(measured / target) in log space at once; slack relaxes by at
    /// most `relaxStep` per window; inside the dead band nothing moves.
    @Test func tightensAtOnceRelaxesSlowly() {
        var f = LatencyFeedback()
        // 2× the target: factor exp(-0.7 ln 2) = 2^-0.7.
        let tightened = f.observe("api", measured: 0.040, target: 0.020, saturated: false)
        #expect(abs(tightened! - 0.615_572_206_672_458_3) < 1e-12)
        // 0.9 × the target: inside the dead band (relax only below 0.85).
        #expect(f.observe("api", measured: 0.018, target: 0.020, saturated: false) == nil)
        // Half the target: relax by the step, e^0.02, not by 0.7 ln 2.
        let relaxed = f.observe("api", measured: 0.010, target: 0.020, saturated: false)
        #expect(abs(relaxed! - 0.615_572_206_672_458_3 * 1.020_201_340_026_755_8) < 1e-12)
        #expect(f.corrections["api"]?.moves == 2)
    }

    /// Clear slack (under half the target) relaxes by up to `fastRelaxStep` (0.1) per window;
    /// slack nearer the target still by `relaxStep` (0.02).
    @Test func clearSlackRelaxesFaster() {
        var f = LatencyFeedback()
        for _ in 0..<20 { f.observe("api", measured: 1, target: 0.020, saturated: false) }
        #expect(f.factor("api") == 0.2)
        // 0.3 × the target: 0.7 |ln 0.3| = 0.84, capped at 0.1: factor 0.2 e^0.1.
        let fast = f.observe("api", measured: 0.006, target: 0.020, saturated: false)
        #expect(abs(fast! - 0.2 * 1.105_170_918_075_647_6) < 1e-12)
        // 0.6 × the target: the slow step, e^0.02.
        let slow = f.observe("api", measured: 0.012, target: 0.020, saturated: false)
        #expect(abs(slow! - 0.2 * 1.105_170_918_075_647_6 * 1.020_201_340_026_755_8) < 1e-12)
        // From 0.2 at clear slack: back to 1 after ⌈ln 5 / 0.1⌉ = 17 windows, not before.
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
