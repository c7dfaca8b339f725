import Testing
@testable import GearboxCore

/// `ReplanPolicy.shouldReplan(planned:current:)` compares queues by position when their names
/// line up and by name otherwise: the decision must not depend on which.
struct BandTestOrderTests {
    @Test func queuesInAnotherOrderGetTheSameDecision() {
        var random = SeededGenerator(seed: 13)
        let policy = ReplanPolicy(hysteresis: 0.1)
        var replans = 0
        for _ in 0..<400 {
            let count = Int.random(in: 1...12, using: &random)
            let planned = Workload(queues: (0..<count).map { k in
                WorkQueue(name: "q\(k)", arrivalRate: Double.random(in: 10...1000, using: &random),
                          meanWork: Double.random(in: 0.0005...0.005, using: &random),
                          target: LatencyTarget(kind: .mean, seconds: 0.02), cpus: [k])
            })
            var current = planned
            for q in current.queues.indices {
                // Mostly inside the band, sometimes out of it, now and then another target.
                current.queues[q].arrivalRate *= Double.random(in: 0.88...1.12, using: &random)
                if Int.random(in: 0..<50, using: &random) == 0 { current.queues[q].target.seconds *= 2 }
            }
            let inOrder = policy.shouldReplan(planned: planned, current: current)
            var shuffled = current
            shuffled.queues.shuffle(using: &random)
            #expect(policy.shouldReplan(planned: planned, current: shuffled) == inOrder)
            // By hand: some queue's load moved by more than its band, or its target changed.
            let byHand = zip(planned.queues, current.queues).contains { old, new in
                old.target != new.target || abs(new.arrivalRate - old.arrivalRate) > policy.band(rate: old.arrivalRate) * old.arrivalRate
            }
            #expect(inOrder == byHand)
            if inOrder { replans += 1 }
        }
        // Both answers occur.
        #expect(replans > 50 && replans < 350)
    }
}
