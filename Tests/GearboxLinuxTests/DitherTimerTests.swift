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
    private let log = Mutex<[(time: Duration, file: String, value: Int)]>([])
    init(clock: ManualClock) { self.clock = clock }
    var writes: [(time: Duration, file: String, value: Int)] { log.withLock { $0 } }

    var changesHardware: Bool { false }
    func setGovernor(_ governor: String, cpu: Int) throws(CPUFreqError) {}
    func setMinimum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) { record("min", frequency) }
    func setMaximum(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) { record("max", frequency) }
    func setSpeed(_ frequency: Kilohertz, cpu: Int) throws(CPUFreqError) { record("setspeed", frequency) }
    private func record(_ file: String, _ f: Kilohertz) { log.withLock { $0.append((clock.now.offset, file, f.value)) } }

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

@Suite("DitherTimer driven by a manual clock")
struct DitherTimerTests {
    static func timer() -> (DitherTimer<ManualClock>, ManualClock, RecordingCPUFreq) {
        let clock = ManualClock()
        let cpufreq = RecordingCPUFreq(clock: clock)
        let domain = InspectedDomain(
            name: "policy0", cpus: [0], relatedCPUs: [0], driver: "test", governor: "userspace", governors: ["userspace"],
            frequencies: [Kilohertz(100), Kilohertz(200)], hasFrequencyTable: true, hardwareMinimum: Kilohertz(100),
            hardwareMaximum: Kilohertz(200), scalingMinimum: Kilohertz(100), scalingMaximum: Kilohertz(200), capacity: 1024,
            capacitySource: .cpuCapacity, transitionLatencyMicroseconds: nil, energyPerformancePreference: nil)
        let applier = PlanApplier(inventory: HostInventory(domains: [domain]), control: cpufreq, writer: cpufreq,
                                  logger: Logger(label: "test"))
        return (DitherTimer(clock: clock, applier: applier), clock, cpufreq)
    }

    /// Runs the timer's loop by hand: wake at each due instant plus `lateness(k)` for the k-th wake.
    static func drive(_ timer: DitherTimer<ManualClock>, _ clock: ManualClock, until end: Duration,
                      lateness: (Int) -> Duration) async {
        var k = 0
        while let due = await timer.nextDue(), due.offset < end {
            // Sleeping until a past instant returns at once: time never goes back.
            clock.set(max(clock.now, due.advanced(by: lateness(k))))
            await timer.applyDue()
            k += 1
        }
    }

    static let lane = DitherSchedule.Lane(domain: "policy0", low: Kilohertz(100), high: Kilohertz(200), timeShareHigh: 0.3,
                                          period: .milliseconds(10))

    @Test("on time: H at each period start for θτ, L for the rest, one store per change")
    func onTime() async {
        let (timer, clock, cpufreq) = Self.timer()
        await timer.update(DitherSchedule(lanes: [Self.lane]))
        await Self.drive(timer, clock, until: .milliseconds(50)) { _ in .zero }
        let expected: [(Duration, Int)] = (0..<5).flatMap { k in
            [(Duration.milliseconds(10 * k), 200), (Duration.milliseconds(10 * k + 3), 100)]
        }
        #expect(cpufreq.writes.map(\.time) == expected.map(\.0))
        #expect(cpufreq.writes.map(\.value) == expected.map(\.1))
        #expect(cpufreq.writes.allSatisfy { $0.file == "setspeed" })
    }

    @Test("a late switch to L is paid back by a shorter H in the next period")
    func latenessRepaid() async {
        let (timer, clock, cpufreq) = Self.timer()
        await timer.update(DitherSchedule(lanes: [Self.lane]))
        // Wakes: 0 → H→L due at 3 ms, 2 ms late; then on time.
        await Self.drive(timer, clock, until: .milliseconds(30)) { $0 == 0 ? .milliseconds(2) : .zero }
        let times = cpufreq.writes.map(\.time)
        #expect(times == [.zero, .milliseconds(5), .milliseconds(10), .milliseconds(11), .milliseconds(20), .milliseconds(23)])
        // Time at H over the first two periods: 5 + 1 = 6 ms = 0.3 × 20 ms.
    }

    @Test("a stall of several periods: the excess at H is paid back up to one period, the rest forgiven")
    func stall() async {
        let (timer, clock, cpufreq) = Self.timer()
        await timer.update(DitherSchedule(lanes: [Self.lane]))
        // The switch to L due at 3 ms happens at 43 ms: 40 ms too long at H. At the start of
        // period 4 (ideal 12 ms at H) the 31 ms excess is cut to one period (10 ms): H then
        // stays off until the ideal catches up (period 7 gets 2 ms), and from period 8 on the
        // schedule is back to 3 ms of every 10.
        await Self.drive(timer, clock, until: .milliseconds(100)) { $0 == 0 ? .milliseconds(40) : .zero }
        let expected: [(Int, Int)] = [(0, 200), (43, 100), (70, 200), (72, 100), (80, 200), (83, 100), (90, 200), (93, 100)]
        #expect(cpufreq.writes.map(\.time) == expected.map { .milliseconds($0.0) })
        #expect(cpufreq.writes.map(\.value) == expected.map(\.1))
    }
}
