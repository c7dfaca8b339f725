import Glibc
import GearboxCore
@testable import GearboxLinux
import Logging
import Synchronization
import Testing

/// A clock the test moves by hand.
final class ManualClock: Clock, @unchecked Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
    }
    private let current = Mutex(Instant(offset: .zero))
    var now: Instant { current.withLock { $0 } }
    var minimumResolution: Duration { .nanoseconds(1) }
    func set(_ instant: Instant) { current.withLock { $0 = instant } }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws { set(max(now, deadline)) }
}

/// Records the stores with the manual clock's time; reads answer as a userspace-governed policy.
final class RecordingCPUFreq: CPUFrequencyControl, CPUFrequencyWriter, @unchecked Sendable {
    let clock: ManualClock
    private let log = Mutex<[(time: Duration, file: String, value: Int, cpu: Int)]>([])
    init(clock: ManualClock) { self.clock = clock }
    var writes: [(time: Duration, file: String, value: Int, cpu: Int)] { log.withLock { $0 } }

    var changesHardware: Bool { false }
    func setGovernor(_ governor: String, cpu: Int) throws(CPUFreqError) {}
    func setMinimum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) { record("min", frequency, cpu) }
    func setMaximum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) { record("max", frequency, cpu) }
    func setSpeed(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) { record("setspeed", frequency, cpu) }
    private func record(_ file: String, _ f: Kilohertz, _ cpu: Int) {
        log.withLock { $0.append((clock.now.offset, file, f.value, cpu)) }
    }

    func driver(cpu: Int) -> String? { "test" }
    func policy(cpu: Int) -> CPUFreqPolicy? { CPUFreqPolicy(governor: "userspace", minimum: Kilohertz(100), maximum: Kilohertz(200)) }
    func availableGovernors(cpu: Int) -> [String] { ["userspace"] }
    func availableFrequencies(cpu: Int) -> [Kilohertz] { [Kilohertz(100), Kilohertz(200)] }
    func hardwareLimits(cpu: Int) -> HardwareLimits? { HardwareLimits(minimum: Kilohertz(100), maximum: Kilohertz(200)) }
    func relatedCPUs(cpu: Int) -> [Int] { [cpu] }
    func affectedCPUs(cpu: Int) -> [Int] { [cpu] }
    func transitionLatencyNanoseconds(cpu: Int) -> Int? { nil }
    func timeInState(cpu: Int) -> [FrequencyResidency] { [] }
    func currentFrequency(cpu: Int) -> Kilohertz? { nil }
}

/// The dither's schedule logic (`DitherEngine`, which the agent's `DitherThread` runs), with
/// time moved by hand.
@Suite("DitherEngine driven by a manual clock")
struct DitherTimerTests {
    static func domain(_ n: Int) -> InspectedDomain {
        InspectedDomain(
            name: "policy\(n)", cpus: [n], relatedCPUs: [n], driver: "test", governor: "userspace", governors: ["userspace"],
            frequencies: [Kilohertz(100), Kilohertz(200)], hasFrequencyTable: true, hardwareMinimum: Kilohertz(100),
            hardwareMaximum: Kilohertz(200), scalingMinimum: Kilohertz(100), scalingMaximum: Kilohertz(200), capacity: 1024,
            capacitySource: .cpuCapacity, transitionLatencyMicroseconds: nil, energyPerformancePreference: nil)
    }

    static func engine(domains: Int = 1, slackFraction: Double = 0) -> (DitherEngine<ManualClock>, ManualClock, RecordingCPUFreq) {
        let clock = ManualClock()
        let cpufreq = RecordingCPUFreq(clock: clock)
        let applier = PlanApplier(inventory: HostInventory(domains: (0..<domains).map(domain)), control: cpufreq, writer: cpufreq,
                                  logger: Logger(label: "test"))
        return (DitherEngine(clock: clock, applier: applier, slackFraction: slackFraction), clock, cpufreq)
    }

    /// Runs the thread's loop by hand: wake at each due instant plus `lateness(k)` for the
    /// k-th wake. Returns the number of wake-ups.
    @discardableResult
    static func drive(_ engine: inout DitherEngine<ManualClock>, _ clock: ManualClock, until end: Duration,
                      lateness: (Int) -> Duration = { _ in .zero }) -> Int {
        var k = 0
        while let due = engine.nextDue(), due.offset < end {
            // Sleeping until a past instant returns at once: time never goes back.
            clock.set(max(clock.now, due.advanced(by: lateness(k))))
            engine.applyDue()
            k += 1
        }
        return k
    }

    static let lane = DitherSchedule.Lane(domain: "policy0", low: Kilohertz(100), high: Kilohertz(200), timeShareHigh: 0.3,
                                          period: .milliseconds(10))

    @Test("on time: H at each period start for θτ, L for the rest, one store per change")
    func onTime() {
        var (engine, clock, cpufreq) = Self.engine()
        engine.update(DitherSchedule(lanes: [Self.lane]))
        Self.drive(&engine, clock, until: .milliseconds(50))
        let expected: [(Duration, Int)] = (0..<5).flatMap { k in
            [(Duration.milliseconds(10 * k), 200), (Duration.milliseconds(10 * k + 3), 100)]
        }
        #expect(cpufreq.writes.map(\.time) == expected.map(\.0))
        #expect(cpufreq.writes.map(\.value) == expected.map(\.1))
        #expect(cpufreq.writes.allSatisfy { $0.file == "setspeed" })
    }

    @Test("a late switch to L is paid back by a shorter H in the next period")
    func latenessRepaid() {
        var (engine, clock, cpufreq) = Self.engine()
        engine.update(DitherSchedule(lanes: [Self.lane]))
        // Wakes: 0 → H→L due at 3 ms, 2 ms late; then on time.
        Self.drive(&engine, clock, until: .milliseconds(30)) { $0 == 0 ? .milliseconds(2) : .zero }
        let times = cpufreq.writes.map(\.time)
        #expect(times == [.zero, .milliseconds(5), .milliseconds(10), .milliseconds(11), .milliseconds(20), .milliseconds(23)])
        // Time at H over the first two periods: 5 + 1 = 6 ms = 0.3 × 20 ms.
    }

    @Test("a stall of several periods: the excess at H is paid back up to one period, the rest forgiven")
    func stall() {
        var (engine, clock, cpufreq) = Self.engine()
        engine.update(DitherSchedule(lanes: [Self.lane]))
        // The switch to L due at 3 ms happens at 43 ms: 40 ms too long at H. At the start of
        // period 4 (ideal 12 ms at H) the 31 ms excess is cut to one period (10 ms): H then
        // stays off until the ideal catches up (period 7 gets 2 ms), and from period 8 on the
        // schedule is back to 3 ms of every 10.
        Self.drive(&engine, clock, until: .milliseconds(100)) { $0 == 0 ? .milliseconds(40) : .zero }
        let expected: [(Int, Int)] = [(0, 200), (43, 100), (70, 200), (72, 100), (80, 200), (83, 100), (90, 200), (93, 100)]
        #expect(cpufreq.writes.map(\.time) == expected.map { .milliseconds($0.0) })
        #expect(cpufreq.writes.map(\.value) == expected.map(\.1))
    }

    /// Time at H of `cpu` from its stores, over [0, end).
    static func timeAtHigh(_ writes: [(time: Duration, file: String, value: Int, cpu: Int)], cpu: Int, end: Duration) -> Duration {
        let own = writes.filter { $0.cpu == cpu }
        var total = Duration.zero
        for (i, w) in own.enumerated() where w.value == 200 {
            total += (i + 1 < own.count ? own[i + 1].time : end) - w.time
        }
        return total
    }

    @Test("switches within the slack share one wake-up, none is more than 3 slacks off, and each share stays θ")
    func slackSharesWakeUps() {
        // Three lanes of 10 ms whose H→L edges lie 20 µs apart: exact, each period needs a wake-up
        // for the common L→H edge and one for each H→L edge; with 1 % of τ (100 µs) of slack, one
        // wake-up takes all three H→L edges.
        let thetas = [0.300, 0.302, 0.304]
        let lanes = thetas.enumerated().map { i, theta in
            DitherSchedule.Lane(domain: "policy\(i)", low: Kilohertz(100), high: Kilohertz(200), timeShareHigh: theta,
                                period: .milliseconds(10))
        }
        let end = Duration.seconds(1)
        var (exact, exactClock, _) = Self.engine(domains: 3)
        exact.update(DitherSchedule(lanes: lanes))
        let exactWakeUps = Self.drive(&exact, exactClock, until: end)
        var (slack, clock, cpufreq) = Self.engine(domains: 3, slackFraction: 0.01)
        slack.update(DitherSchedule(lanes: lanes))
        let wakeUps = Self.drive(&slack, clock, until: end)
        // Exact: 3 H→L wake-ups in the first period (its L→H is the update), 4 in each other.
        #expect(exactWakeUps == 3 + 4 * 99)
        // With slack: mostly 2 a period; a lane taken early every time builds a debt until its
        // switch falls outside the others' window and gets a wake-up of its own.
        #expect(wakeUps <= 2 * 100 + 25, "\(wakeUps) wake-ups")
        print("wake-ups over 1 s: \(exactWakeUps) exact, \(wakeUps) with 1 % slack")
        for (cpu, theta) in thetas.enumerated() {
            let share = Double(Self.timeAtHigh(cpufreq.writes, cpu: cpu, end: end) / end)
            #expect(abs(share - theta) <= 0.001 * theta, "cpu\(cpu): share \(share), θ \(theta)")
            // Each store within three times the slack of the exact schedule's edge (kτ or
            // kτ + θτ): a wake-up comes at most the slack after the earliest due switch and takes
            // every switch due up to the slack after it, and what a lane was early or late in
            // one period moves its next H→L edge by as much.
            for w in cpufreq.writes where w.cpu == cpu {
                let ns = DitherSchedule.nanoseconds(w.time)
                let phase = ns % 10_000_000
                let edge = w.value == 200 ? 0 : Int64((theta * 10_000_000).rounded())
                let offset = min(abs(phase - edge), 10_000_000 - abs(phase - edge))
                #expect(offset <= 300_000, "cpu\(cpu) store of \(w.value) at \(w.time)")
            }
        }
    }
}

/// The agent's dither thread with the real clock: it starts on the first schedule, switches on
/// its own, and after `stop()` writes nothing more.
@Suite("DitherThread")
struct DitherThreadTests {
    @Test("writes the first frequencies at once, dithers on its own thread, stops when told")
    func runsAndStops() {
        let cpufreq = RecordingCPUFreq(clock: ManualClock())
        let applier = PlanApplier(inventory: HostInventory(domains: [DitherTimerTests.domain(0)]), control: cpufreq,
                                  writer: cpufreq, logger: Logger(label: "test"))
        let dither = DitherThread(applier: applier)
        dither.update(DitherSchedule(lanes: [DitherTimerTests.lane]))
        // The first store is made before update returns.
        #expect(cpufreq.writes.map(\.value).first == 200)
        // Periods of 10 ms: ten stores take 100 ms on an idle machine.
        #expect(waitUntil(timeout: .seconds(60)) { cpufreq.writes.count >= 10 }, "\(cpufreq.writes.count) stores")
        dither.stop()
        let stopped = cpufreq.writes.count
        let values = cpufreq.writes.map(\.value)
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 != $1 })
        usleep(50_000)
        #expect(cpufreq.writes.count == stopped)
        #expect(dither.frequencies["policy0"] == Kilohertz(values.last!))
        // A new schedule starts it again.
        dither.update(DitherSchedule(lanes: [DitherSchedule.Lane(domain: "policy0", low: Kilohertz(100), high: Kilohertz(100),
                                                                  timeShareHigh: 0, period: .milliseconds(10))]))
        dither.stop()
        #expect(cpufreq.writes.last?.value == 100)
    }
}
