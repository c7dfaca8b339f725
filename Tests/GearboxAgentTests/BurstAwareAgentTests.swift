import GearboxAgent
import GearboxConfig
import GearboxControl
import GearboxCore
import GearboxTestSupport
import Testing

/// The agent measures how over-dispersed a live queue's arrivals are from the per-tick
/// increases of its Prometheus arrival counter, and plans them with the GI/G/1 bound as the
/// simulator's `gearbox` does (`ArrivalDispersion`, `PlanCorrections`).
@Suite struct BurstAwareAgentTests {
    static let source = QueueSource(location: .file("/m"), arrivals: "req_total")
    /// 300 requests a second of 2 ms on four CPUs, a 10 ms mean target: as Poisson arrivals,
    /// the lowest speed meets it (per CPU ρ = 0.3 at speed 0.5, mean 4 + 1.7 ms).
    static let queue = WorkQueue(name: "api", arrivalRate: 300, meanWork: 0.002, target: LatencyTarget(kind: .mean, seconds: 0.010))
    static let rate = 300.0
    static let ticks = 600

    /// A Poisson count of mean `mean` (exponential gaps over an interval of length `mean`).
    static func poisson(_ mean: Double, _ random: inout SeededGenerator) -> Double {
        var n = 0.0, t = -Math.log(1 - random.unit())
        while t < mean {
            n += 1
            t -= Math.log(1 - random.unit())
        }
        return n
    }

    /// One tick's count: Poisson requests, or Poisson batches of `batch` requests each
    /// (variance `batch² μ` over mean `batch μ`: an index of dispersion of exactly `batch`).
    static func count(batch: Double, _ random: inout SeededGenerator) -> Double {
        batch * poisson(rate / batch, &random)
    }

    struct Run {
        var loop: ControlLoop
        /// The long-window index at every 60th tick (disjoint windows).
        var longIndices: [Double] = []
        /// Per tick from tick 100 on: the plan in force's mean frequency over its domains (kHz)
        /// and whether it used the burst bound.
        var meanKilohertz: [Double] = []
        var burstBound: [Bool] = []
    }

    static func run(batch: Double, seed: UInt64) -> Run {
        var configuration = AgentConfiguration()
        configuration.queues = [AgentQueue(queue: queue, source: source)]
        var run = Run(loop: ControlLoop(platform: ControlLoopTests.platform, configuration: configuration))
        var random = SeededGenerator(seed: seed)
        var total = 0.0
        for tick in 0...ticks {
            if tick > 0 { total += count(batch: batch, &random) }
            let samples = try! PrometheusText.parse("req_total \(total)")
            _ = run.loop.tick(busy: [:], interval: 1, scrapes: ["api": .samples(samples)], now: Double(tick))
            let dispersion = run.loop.live["api"]!.dispersion
            if tick > 0, tick % ArrivalDispersion.longTicks == 0 {
                run.longIndices.append(dispersion.index(over: ArrivalDispersion.longTicks)!)
            }
            if tick >= 100, let plan = run.loop.currentPlan {
                let mean = plan.domains.map { $0.timeShareHigh * Double($0.high.value) + (1 - $0.timeShareHigh) * Double($0.low.value) }
                run.meanKilohertz.append(mean.reduce(0, +) / Double(mean.count))
                run.burstBound.append(plan.queues.first { $0.name == "api" }!.arrivalDispersion > 1)
            }
        }
        return run
    }

    static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }

    /// Batches of 8: the index measured from the counter is 8 within 20 % (ten disjoint 60-tick
    /// windows; each has a standard deviation of about 8 √(2/59) = 1.5, their mean 0.47, so
    /// 20 % is 3.4 of them), every plan after the first 100 ticks uses the burst bound, and
    /// those plans run faster than the plans for Poisson counts of the same mean, which keep
    /// the Poisson plan (the short window's false alarms, about one tick in 500, aside).
    @Test func overDispersedCountsAreMeasuredAndPlannedFaster() throws {
        let bursty = Self.run(batch: 8, seed: 11)
        let poisson = Self.run(batch: 1, seed: 12)
        let burstyIndex = Self.mean(bursty.longIndices), poissonIndex = Self.mean(poisson.longIndices)
        let burstyKHz = Self.mean(bursty.meanKilohertz), poissonKHz = Self.mean(poisson.meanKilohertz)
        let poissonBurstTicks = poisson.burstBound.filter { $0 }.count
        print("batches of 8: index \(burstyIndex) (windows \(bursty.longIndices)), mean \(burstyKHz) kHz; Poisson: index \(poissonIndex), mean \(poissonKHz) kHz, burst bound on \(poissonBurstTicks) of \(poisson.burstBound.count) ticks")
        #expect(abs(burstyIndex / 8 - 1) < 0.2)
        #expect(abs(poissonIndex - 1) < 0.2)
        #expect(bursty.burstBound.allSatisfy { $0 })
        #expect(Double(poissonBurstTicks) <= 0.05 * Double(poisson.burstBound.count))
        // The lowest speed is 1 GHz; the burst bound must buy speed the Poisson plan does not.
        #expect(poissonKHz < 1_100_000)
        #expect(burstyKHz > poissonKHz * 1.2)

        // status and explain say what was measured and what the plan used.
        let status = StatusDocument.json(bursty.loop.status(mode: "service", now: Double(Self.ticks)))
        let api = try #require(status["queues"]?.arrayItems?.first)
        let planned = try #require(bursty.loop.currentPlan?.queues.first)
        #expect(api["burst_bound"]?.boolValue == true)
        #expect(api["arrival_dispersion"]?.doubleValue == planned.arrivalDispersion)
        #expect(abs((api["dispersion_60_ticks"]?.doubleValue ?? 0) / 8 - 1) < 0.5)
        #expect((api["dispersion"]?.doubleValue ?? 0) > 1)
        let inputs = try #require(bursty.loop.explainInputs)
        let explain = inputs.document()
        #expect(explain["queues"]?.arrayItems?.first?["burst_bound"]?.boolValue == true)
        let quiet = StatusDocument.json(poisson.loop.status(mode: "service", now: Double(Self.ticks)))
        #expect(quiet["queues"]?.arrayItems?.first?["dispersion_60_ticks"]?.doubleValue.map { abs($0 - 1) < 1 } == true)
    }

    /// A restarted application's counter starts again from 0: that tick's count (the new
    /// counter's value) undercounts the interval, and is neither a burst nor a dispersion sample;
    /// a tick that covers a missed one is weighed by its span, one after a long gap is left out.
    @Test func counterResetsAndMissedTicksAreNoBursts() throws {
        var configuration = AgentConfiguration()
        configuration.queues = [AgentQueue(queue: Self.queue, source: Self.source)]
        var loop = ControlLoop(platform: ControlLoopTests.platform, configuration: configuration)
        func tick(_ total: Double, at now: Double) -> ControlLoop.Decision {
            loop.tick(busy: [:], interval: 1, scrapes: ["api": .samples(try! PrometheusText.parse("req_total \(total)"))], now: now)
        }
        for second in 0...20 { _ = tick(300 * Double(second), at: Double(second)) }
        #expect(loop.live["api"]!.dispersion.counts.count == 20)
        // Restarted: 40 requests since, where 300 came in the tick.
        let reset = tick(40, at: 21)
        #expect(reset.reason != "burst in demand")
        #expect(loop.live["api"]!.dispersion.counts.count == 20)
        // A missed tick: 600 requests over two ticks is the same rate, no burst, kept with span 2.
        let late = tick(640, at: 23)
        #expect(late.reason != "burst in demand")
        #expect(loop.live["api"]!.dispersion.ticks.last == 2)
        #expect(abs(loop.live["api"]!.estimate!.arrivalRate - 300) < 20)
        // Ten ticks missed: the rate is kept, the count is not a dispersion sample.
        _ = tick(640 + 3300, at: 34)
        #expect(loop.live["api"]!.dispersion.counts.count == 21)
        #expect(loop.live["api"]!.dispersion.planningIndex == 1)
    }

    /// Pearson's dispersion statistic over counts of unequal spans, worked by hand: counts 3, 1
    /// and 6 over 1, 1 and 2 ticks have λ = 10/4 = 2.5 a tick and squared deviations 0.25,
    /// 2.25 and (6 − 5)²/2 = 0.5: index 3 / (2 × 2.5) = 0.6. Equal spans give variance over mean.
    @Test func indexOverUnequalSpans() {
        var d = ArrivalDispersion()
        d.add(count: 3)
        d.add(count: 1)
        d.add(count: 6, ticks: 2)
        #expect(abs(d.index(over: 3)! - 0.6) < 1e-12)
        d.add(count: 100, ticks: 5) // a span of five ticks is no sample
        #expect(d.counts.count == 3)
        var equal = ArrivalDispersion()
        for c in [2.0, 4, 6] { equal.add(count: c) }
        // Mean 4, variance (4 + 0 + 4) / 2 = 4: index 1.
        #expect(abs(equal.index(over: 3)! - 1) < 1e-12)
    }
}
