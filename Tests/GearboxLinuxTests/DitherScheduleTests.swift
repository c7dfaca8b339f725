import GearboxCore
import GearboxLinux
import Testing

@Suite("Dither schedule as a pure function of time")
struct DitherScheduleTests {
    @Test("time at H over whole periods is θτ per period, and changes come exactly at the edges",
          arguments: [(0.3, 50.0), (0.7, 20.0), (0.05, 1.0), (0.999, 7.0)])
    func shareAndEdges(theta: Double, periodMilliseconds: Double) {
        let lane = DitherSchedule.Lane(domain: "d", low: Kilohertz(800_000), high: Kilohertz(2_000_000), timeShareHigh: theta,
                                       period: .nanoseconds(Int64(periodMilliseconds * 1e6)))
        // Walk the change points over 40 periods and integrate the time at H.
        var t: Int64 = 0
        var atHigh: Int64 = 0
        let end = 40 * lane.periodNanoseconds
        while t < end, let next = lane.nextChange(afterNanoseconds: t) {
            #expect(next > t)
            let f = lane.frequency(atNanoseconds: t)
            // Constant between change points: check the instant just before the next change.
            #expect(lane.frequency(atNanoseconds: next - 1) == f)
            #expect(lane.frequency(atNanoseconds: next) != f)
            if f == lane.high { atHigh += min(next, end) - t }
            t = next
        }
        let expected = (theta * Double(lane.periodNanoseconds)).rounded() * 40
        #expect(Double(atHigh) == expected)
    }

    @Test("pure speeds never change; θ outside [0, 1] is clamped")
    func steady() {
        for (theta, want) in [(0.0, 800_000), (1.0, 2_000_000), (-0.5, 800_000), (3.0, 2_000_000)] {
            let lane = DitherSchedule.Lane(domain: "d", low: Kilohertz(800_000), high: Kilohertz(2_000_000),
                                           timeShareHigh: theta, period: .milliseconds(10))
            #expect(lane.isSteady)
            #expect(lane.nextChange(afterNanoseconds: 12_345) == nil)
            #expect(lane.frequency(atNanoseconds: 7_000_000).value == want)
        }
    }

    @Test("one timer: the schedule's next change is the earliest of its lanes'")
    func earliestLane() {
        let schedule = DitherSchedule(lanes: [
            .init(domain: "a", low: Kilohertz(1), high: Kilohertz(2), timeShareHigh: 0.5, period: .milliseconds(10)),
            .init(domain: "b", low: Kilohertz(1), high: Kilohertz(2), timeShareHigh: 0.25, period: .milliseconds(8)),
        ])
        #expect(schedule.nextChange(after: .zero) == .milliseconds(2))
        #expect(schedule.nextChange(after: .milliseconds(2)) == .milliseconds(5))
        #expect(schedule.nextChange(after: .milliseconds(5)) == .milliseconds(8))
        #expect(schedule.frequencies(at: .milliseconds(6)).map(\.frequency.value) == [1, 1])
        #expect(schedule.frequencies(at: .milliseconds(9)).map(\.frequency.value) == [1, 2])
    }

    @Test("from a plan: τ is at least max(1 ms, 10 × transition latency) and at most 50 ms; no period means one speed")
    func fromPlan() {
        let platform = Platform(domains: [
            FrequencyDomain(name: "slow", cpus: [0], capacity: 1024, idlePower: .zero,
                            operatingPoints: [.init(frequency: Kilohertz(1), busyPower: .zero)], transitionLatencyMicroseconds: 500),
            FrequencyDomain(name: "fast", cpus: [1], capacity: 1024, idlePower: .zero,
                            operatingPoints: [.init(frequency: Kilohertz(1), busyPower: .zero)], transitionLatencyMicroseconds: nil),
            FrequencyDomain(name: "pure", cpus: [2], capacity: 1024, idlePower: .zero,
                            operatingPoints: [.init(frequency: Kilohertz(1), busyPower: .zero)], transitionLatencyMicroseconds: 10),
        ])
        let plan = Plan(feasible: true, power: .zero, domains: [
            DomainPlan(name: "slow", cpus: [0], low: Kilohertz(1), high: Kilohertz(2), pHigh: 0.5, timeShareHigh: 0.4, ditherPeriod: 0.002),
            DomainPlan(name: "fast", cpus: [1], low: Kilohertz(1), high: Kilohertz(2), pHigh: 0.5, timeShareHigh: 0.4, ditherPeriod: 0.2),
            DomainPlan(name: "pure", cpus: [2], low: Kilohertz(1), high: Kilohertz(2), pHigh: 0.5, timeShareHigh: 0.4),
        ], queues: [], cpus: [])
        let lanes = DitherSchedule(plan: plan, platform: platform).lanes
        #expect(lanes[0].periodNanoseconds == 5_000_000)   // 10 × 500 µs beats the 2 ms asked
        #expect(lanes[1].periodNanoseconds == 50_000_000)  // capped at 50 ms
        #expect(lanes[2].isSteady && lanes[2].low.value == 2)  // no period: H, as θ > 0
        #expect(DitherSchedule.minimumPeriod(transitionLatencyMicroseconds: nil) == .milliseconds(1))
        #expect(DitherSchedule.minimumPeriod(transitionLatencyMicroseconds: 40) == .milliseconds(1))
    }
}
