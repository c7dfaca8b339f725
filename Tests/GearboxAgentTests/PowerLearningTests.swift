#if canImport(Glibc)
import Glibc
#endif
import GearboxConfig
import GearboxControl
import GearboxCore
import GearboxLinux
import GearboxTestSupport
import Testing
@testable import GearboxAgent

/// The power-curve learner end to end: synthetic energy and time-in-state counters, written
/// into a fixture tree (modelled on Tests/Fixtures/powercap-rapl and acpi-cpufreq-8cpu) from
/// a known model plus noise, read back by `PowerLearning` as the agent does.
@Suite struct PowerLearningTests {
    /// The acpi-cpufreq-8cpu fixture's frequencies.
    static let frequencies = [1_200_000, 1_400_000, 1_600_000, 1_800_000, 2_000_000, 2_200_000, 2_400_000, 2_600_000, 2_601_000]
    static let fmax = 2_601_000.0
    static let idle = 0.1

    /// Eight one-CPU policies with gearbox's assumed curve (0.5 + 2.5 r³, idle 0.1).
    static let configured = Platform(domains: (0..<8).map { cpu in
        FrequencyDomain(name: "policy\(cpu)", cpus: [cpu], capacity: 1024, idlePower: Watts(idle),
                        operatingPoints: FrequencyDomain.operatingPoints(
                            frequencies: frequencies.map(Kilohertz.init),
                            power: ParametricPower(staticWatts: 0.5, dynamicWatts: 2.5, exponent: 3)),
                        transitionLatencyMicroseconds: 10)
    })

    /// The "true" machine: busy power 0.8 + 1.6 r^2.2 W per CPU, idle 0.1 W, and 6 W for the
    /// rest of the package.
    struct TrueModel {
        var staticWatts = 0.8
        var dynamicWatts = 1.6
        var exponent = 2.2
        var packageWatts = 6.0
        func busy(_ khz: Int) -> Double { staticWatts + dynamicWatts * Math.pow(Double(khz) / PowerLearningTests.fmax, exponent) }
    }

    /// A scratch tree: `cpu/cpuN/{cpufreq/stats/time_in_state, topology/physical_package_id}`
    /// and `powercap/intel-rapl:0{,:0}` with `name`, `energy_uj`, `max_energy_range_uj`.
    final class CounterTree {
        let root: String
        var energy = 0.0  // µJ, exact
        var timeInState: [[Double]]  // per CPU, per frequency, in 10 ms units, exact
        init() {
            var template = Array("/tmp/gearbox-power-XXXXXX".utf8CString)
            root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
            timeInState = Array(repeating: Array(repeating: 0, count: PowerLearningTests.frequencies.count), count: 8)
            for cpu in 0..<8 {
                makeDirectories("\(root)/cpu/cpu\(cpu)/cpufreq/stats")
                makeDirectories("\(root)/cpu/cpu\(cpu)/topology")
                write("\(root)/cpu/cpu\(cpu)/topology/physical_package_id", "0\n")
            }
            makeDirectories("\(root)/powercap/intel-rapl:0")
            makeDirectories("\(root)/powercap/intel-rapl:0:0")
            write("\(root)/powercap/intel-rapl:0/name", "package-0\n")
            write("\(root)/powercap/intel-rapl:0:0/name", "core\n")
            write("\(root)/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n")
            write("\(root)/powercap/intel-rapl:0:0/max_energy_range_uj", "262143328850\n")
            write("\(root)/powercap/intel-rapl:0:0/energy_uj", "0\n")
            flush()
        }
        deinit { _ = system("rm -rf '\(root)'") }

        func flush() {
            write("\(root)/powercap/intel-rapl:0/energy_uj", "\(UInt64(energy))\n")
            for cpu in 0..<8 {
                let lines = zip(PowerLearningTests.frequencies, timeInState[cpu]).reversed().map { "\($0) \(UInt64($1))\n" }
                write("\(root)/cpu/cpu\(cpu)/cpufreq/stats/time_in_state", lines.joined())
            }
        }

        func makeDirectories(_ path: String) { _ = system("mkdir -p '\(path)'") }

        func write(_ path: String, _ text: String) {
            // A file under a directory a test removed is not written.
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { return }
            _ = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }

        var reader: PowerCounterReader {
            PowerCounterReader(powercap: PowercapZones(root: "\(root)/powercap"), sysfs: CPUSysfs(root: "\(root)/cpu"))
        }
    }

    /// Drives `learning` through `intervals` intervals of 2 s: each CPU at two or three random
    /// frequencies with a random utilisation; the package's energy from `truth` times (1 + noise),
    /// noise uniform in ±`noise`. Ticks every 0.5 s with the CPUs' busy fractions.
    static func drive(
        _ learning: inout PowerLearning, tree: CounterTree, truth: TrueModel, intervals: Int, noise: Double, seed: UInt64
    ) -> [PowerLearning.Change] {
        var random = SeededGenerator(seed: seed)
        var changes: [PowerLearning.Change] = []
        var now = 0.0
        _ = learning.tick(busy: [:], now: now)
        for _ in 0..<intervals {
            var busy: [Int: Double] = [:]
            var joules = truth.packageWatts * 2
            for cpu in 0..<8 {
                let u = 0.1 + 0.9 * random.unit()
                busy[cpu] = u
                // Two or three distinct frequencies, random shares of the 2 s.
                var levels = Set<Int>()
                let count = 2 + Int(random.next() % 2)
                while levels.count < count { levels.insert(Int(random.next() % UInt64(frequencies.count))) }
                // Sorted: a Set's order differs from run to run, and with it which level
                // would get which weight.
                let chosen = levels.sorted()
                let weights = chosen.map { _ in 0.2 + random.unit() }
                let total = weights.reduce(0, +)
                for (level, weight) in zip(chosen, weights) {
                    let seconds = 2 * weight / total
                    tree.timeInState[cpu][level] += seconds * 100
                    joules += seconds * (idle + u * (truth.busy(frequencies[level]) - idle))
                }
            }
            tree.energy += joules * (1 + noise * (2 * random.unit() - 1)) * 1e6
            for step in 1...4 {
                now += 0.5
                if step == 4 { tree.flush() }
                if let change = learning.tick(busy: busy, now: now) { changes.append(change) }
            }
        }
        return changes
    }

    @Test("recovers a known curve from counters with ±0.5 % noise within 5 %, and the plans switch to it",
          arguments: [7, 21, 99] as [UInt64])
    func recoversKnownCurve(seed: UInt64) throws {
        let tree = CounterTree()
        var learning = PowerLearning(reader: tree.reader, platform: Self.configured)
        #expect(learning.unavailable == nil)
        #expect(learning.zones.map(\.name) == ["package-0"])
        let truth = TrueModel()
        let changes = Self.drive(&learning, tree: tree, truth: truth, intervals: 300, noise: 0.005, seed: seed)
        let state = try #require(learning.learner.states.first)
        #expect(state.notUsedBecause == nil, "\(state.notUsedBecause ?? "")")
        let curve = try #require(state.fit?.curves.first)
        print("learned: \(curve), zone idle \(state.fit?.idleWatts ?? -1) W, R² \(state.fit?.rSquared ?? -1), RMS \(state.fit?.relativeRMSError ?? -1)")
        let staticWatts = curve.aboveIdle + Self.idle
        #expect(abs(staticWatts - truth.staticWatts) <= 0.05 * truth.staticWatts, "static \(staticWatts)")
        #expect(abs(curve.dynamic - truth.dynamicWatts) <= 0.05 * truth.dynamicWatts, "dynamic \(curve.dynamic)")
        #expect(abs(curve.exponent - truth.exponent) <= 0.05 * truth.exponent, "exponent \(curve.exponent)")
        let idleWatts = try #require(state.fit?.idleWatts)
        #expect(abs(idleWatts - (truth.packageWatts + 8 * Self.idle)) <= 0.05 * (truth.packageWatts + 8 * Self.idle))
        // The first change is to the learned model; no flapping back.
        guard case .learned(let learned)? = changes.first else {
            Issue.record("no learned model: \(changes)")
            return
        }
        #expect(!changes.contains(.configured))
        for point in learned.domains[0].operatingPoints {
            let expected = truth.busy(point.frequency.value)
            #expect(abs(point.busyPower.value - expected) <= 0.05 * expected, "\(point.frequency.value) kHz")
        }
        let document = learning.document.rendered(pretty: false)
        #expect(document.contains("\"source\":\"learned\""))
        #expect(document.contains("\"configured_watts\""))
    }

    @Test("without RAPL the configured model stays, and status says why")
    func withoutRAPLConfiguredStays() {
        let tree = CounterTree()
        _ = system("rm -rf '\(tree.root)/powercap'")
        var learning = PowerLearning(reader: tree.reader, platform: Self.configured)
        #expect(learning.unavailable != nil)
        let changes = Self.drive(&learning, tree: tree, truth: TrueModel(), intervals: 40, noise: 0, seed: 1)
        #expect(changes.isEmpty)
        let document = learning.document.rendered(pretty: false)
        #expect(document.contains("\"source\":\"configured\""))
        #expect(document.contains("no readable RAPL package zone"))
    }

    @Test("without time_in_state (no CONFIG_CPU_FREQ_STAT) nothing is learned, and status says why")
    func withoutTimeInStateConfiguredStays() {
        let tree = CounterTree()
        _ = system("rm -f '\(tree.root)'/cpu/cpu*/cpufreq/stats/time_in_state; rm -rf '\(tree.root)'/cpu/cpu*/cpufreq/stats")
        var learning = PowerLearning(reader: tree.reader, platform: Self.configured)
        let changes = Self.drive(&learning, tree: tree, truth: TrueModel(), intervals: 40, noise: 0, seed: 1)
        #expect(changes.isEmpty)
        let document = learning.document.rendered(pretty: false)
        #expect(document.contains("\"source\":\"configured\""))
        #expect(document.contains("time_in_state"))
    }

    @Test("a plan made with the learned curve runs where the true curve's energy per unit of work is least")
    func planFollowsTheLearnedCurve() throws {
        let tree = CounterTree()
        var learning = PowerLearning(reader: tree.reader, platform: Self.configured)
        let truth = TrueModel()
        let changes = Self.drive(&learning, tree: tree, truth: truth, intervals: 300, noise: 0.005, seed: 11)
        guard case .learned(let learned)? = changes.last else {
            Issue.record("no learned model: \(changes)")
            return
        }
        // Energy per unit of work above idle at frequency f is (P(f) − idle) / (f / fmax):
        // a lightly loaded CPU runs at the frequency where that is least (race to idle), and
        // never slower. Computed here from the two curves themselves.
        func cheapest(_ power: (Int) -> Double) -> Int {
            Self.frequencies.min { (power($0) - Self.idle) / Double($0) < (power($1) - Self.idle) / Double($1) }!
        }
        let assumed = cheapest { 0.5 + 2.5 * Math.pow(Double($0) / Self.fmax, 3) }
        let real = cheapest(truth.busy)
        #expect(assumed == 1_200_000)
        #expect(real > assumed)
        var loop = ControlLoop(platform: Self.configured, configuration: AgentConfiguration())
        let light = [Int: Double](uniqueKeysWithValues: (0..<8).map { ($0, 0.05) })
        let before = try #require(loop.tick(busy: light, interval: 1).newPlan)
        #expect(before.powerModel == .configured)
        #expect(before.domains.allSatisfy { $0.low == Kilohertz(assumed) && $0.high == Kilohertz(assumed) })
        let after = try #require(loop.usePower(learned).newPlan)
        #expect(after.powerModel == .learned)
        // The true curve is flat near its minimum (1.6 and 1.8 GHz differ by 0.5 % in energy
        // per unit of work): the learned plan must run one speed, faster than the assumed
        // curve's, at most 0.5 % dearer per unit of work under the true curve than its best.
        let perWork = { (khz: Int) in (truth.busy(khz) - Self.idle) / Double(khz) }
        for d in after.domains {
            #expect(d.low == d.high && d.low.value > assumed, "\(d.name): \(d.low.value)–\(d.high.value) kHz")
            #expect(perWork(d.low.value) <= 1.005 * perWork(real), "\(d.name) at \(d.low.value) kHz, best \(real)")
        }
        #expect(PlanDocument.json(after).rendered(pretty: false).contains("\"power_model\":\"learned\""))
        // Dropping the learned curve plans with the configured one again.
        let back = try #require(loop.usePower(nil).newPlan)
        #expect(back.powerModel == .configured)
        #expect(back.domains.map(\.low) == before.domains.map(\.low))
    }
}
