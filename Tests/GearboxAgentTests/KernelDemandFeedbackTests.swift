import GearboxConfig
import GearboxCore
import GearboxTestSupport
import Testing
@testable import GearboxAgent

/// Kernel-only mode on CPU-bound work: a CPU's busy fraction is its demand over the speed the
/// plan runs it at, so every plan changes what the next tick measures. The agent estimates
/// demand as busy × planned speed; this closes the loop in-process (no sysfs, no clock) and
/// checks that it settles instead of re-planning on every change it causes itself.
@Suite struct KernelDemandFeedbackTests {
    /// Eight one-CPU domains with the EPYC 7451's P-states and the default power curve.
    static let platform = Platform(domains: (0..<8).map { cpu in
        FrequencyDomain(name: "policy\(cpu)", cpus: [cpu], capacity: 1024, idlePower: Watts(0.1),
                        operatingPoints: [1_200_000, 1_800_000, 2_300_000].map { khz in
                            let f = Double(khz) / 2_300_000
                            return OperatingPoint(frequency: Kilohertz(khz), busyPower: Watts(0.5 + 2.5 * f * f * f))
                        })
    })
    /// Work offered by each CPU, as a fraction of its top speed.
    static let demand: [Int: Double] = Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, 0.30 + 0.04 * Double($0)) })

    struct Run { var replans: [Double] = []; var reasons: [String] = []; var last: Plan? }

    /// `seconds` of 100 ms ticks; busy = demand × top / planned mean speed, in whole jiffies
    /// (USER_HZ 100: ten a tick) when `jiffies`, drawn with a seeded generator.
    static func run(seconds: Double, jiffies: Bool, capped: Bool) -> Run {
        var configuration = AgentConfiguration()
        configuration.tick = .milliseconds(100)
        if capped { configuration.maxSwitchRate = 0 }
        var loop = ControlLoop(platform: platform, configuration: configuration)
        var generator = SeededGenerator(seed: 7)
        var run = Run()
        var now = 0.0
        while now < seconds {
            now += 0.1
            let speeds = loop.averageSpeeds()
            var busy: [Int: Double] = [:]
            for (cpu, d) in demand.sorted(by: { $0.key < $1.key }) {
                let fraction = min(1, d / (speeds[cpu] ?? 1))
                if jiffies {
                    var count = 0
                    for _ in 0..<10 where generator.unit() < fraction { count += 1 }
                    busy[cpu] = Double(count) / 10
                } else {
                    busy[cpu] = fraction
                }
            }
            let decision = loop.tick(busy: busy, interval: 0.1, now: now)
            if decision.newPlan != nil { run.replans.append(now); run.reasons.append(decision.reason ?? "") }
        }
        run.last = loop.currentPlan
        return run
    }

    @Test(arguments: [false, true])
    func exactBusyFractionsSettle(capped: Bool) {
        let run = Self.run(seconds: 120, jiffies: false, capped: capped)
        let late = run.replans.filter { $0 > 30 }
        #expect(late.count <= 2, "re-plans after 30 s: \(late)")
        #expect(run.last?.feasible == true)
    }

    @Test(arguments: [false, true])
    func jiffyCountsDoNotKeepItReplanning(capped: Bool) {
        let run = Self.run(seconds: 300, jiffies: true, capped: capped)
        let late = run.replans.filter { $0 > 30 }
        // Ten jiffies a tick are a noisy measure (a CPU 50 % busy reads 0.3 to 0.7 often);
        // the estimates' half-life and hysteresis must keep re-plans rare.
        #expect(Double(late.count) / 270 < 0.1, "\(late.count) re-plans in 270 s: \(late.prefix(20)) \(Dictionary(run.reasons.map { ($0, 1) }, uniquingKeysWith: +))")
        #expect(run.last?.feasible == true)
    }
}
