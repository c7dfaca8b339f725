import GearboxCore
import GearboxSimulator
import Testing

/// Traces, the estimator, and input validation.
@Suite struct InputTests {
    @Test func traceParsesColumnsInAnyOrderAndKeepsEachQueueInTimeOrder() throws {
        let csv = """
            # recorded on host x
            queue, work_ms, time_s
            web, 1.0, 0.25
            web, 2.0, 0.5

            db, 4, 1
            """
        let traces = try ArrivalTrace.parse(csv: csv)
        #expect(traces["web"]?.arrivals == [TraceArrival(time: 0.25, work: 0.001), TraceArrival(time: 0.5, work: 0.002)])
        #expect(traces["db"]?.arrivals == [TraceArrival(time: 1, work: 0.004)])
    }

    @Test func traceErrorsNameLineAndField() {
        #expect(throws: TraceError(line: 1, field: "work_ms", message: "header must name the columns time_s and work_ms")) {
            try ArrivalTrace.parse(csv: "time_s,queue\n1,a")
        }
        #expect(throws: TraceError(line: 3, field: "time_s", message: "'-1' is not a non-negative number")) {
            try ArrivalTrace.parse(csv: "time_s,work_ms\n1,2\n-1,2")
        }
        #expect(throws: TraceError(line: 2, field: nil, message: "expected 2 fields, found 3")) {
            try ArrivalTrace.parse(csv: "time_s,work_ms\n1,2,3")
        }
    }

    /// The EWMA reaches the true rate, with its half-life; a jump far beyond Poisson noise
    /// moves it at once, to the count less two of its Poisson deviations.
    @Test func estimatorConvergesAndCatchesSharpRises() {
        var e = WorkloadEstimator(queueCount: 1, halfLife: 10)
        let first = e.observe(interval: 1, arrivals: [100], work: [0.2])
        #expect(first.isEmpty)
        #expect(e.rates == [100])
        // 120 is within 3 Poisson deviations of 100: smoothed, not a jump.
        for _ in 0..<10 { _ = e.observe(interval: 1, arrivals: [120], work: [0.24]) }
        // After one half-life, halfway from 100 to 120.
        #expect(abs(e.rates![0] - 110) < 1e-9)
        #expect(abs(e.meanWork(queue: 0, fallback: 1) - 0.002) < 1e-12)
        let jump = e.observe(interval: 1, arrivals: [400], work: [0.8])
        #expect(jump == [0])
        // The low end of what one count of 400 says: 400 − 2 √400 = 360, work per request kept.
        #expect(e.rates == [360])
        #expect(abs(e.meanWork(queue: 0, fallback: 1) - 0.002) < 1e-12)
    }

    @Test func validationNamesTheField() {
        let q = WorkQueue(name: "fj", arrivalRate: 10, meanWork: 0.001,
                          target: LatencyTarget(kind: .mean, seconds: 1),
                          dispatch: .forkJoin(parts: 3, needed: 1))
        let s = Simulator(platform: TestPlatforms.identical(cpus: 2), workload: Workload(queues: [q]))
        #expect(throws: SimulationInputError(field: "queue fj: parts", message: "needs 1 ≤ needed ≤ parts ≤ 2 CPUs")) {
            try s.validate()
        }
        var bad = s
        bad.workload.queues[0].dispatch = .route
        bad.workload.queues[0].cpus = [5]
        #expect(throws: SimulationInputError(field: "queue fj: cpus", message: "CPU 5 is not on the platform")) {
            try bad.validate()
        }
        bad.workload.queues[0].cpus = nil
        bad.configuration.duration = 0
        #expect(throws: SimulationInputError.self) { try bad.validate() }
        bad.configuration.duration = 1
        #expect(throws: Never.self) { try bad.validate() }
    }

    /// The test's own Cramér–Lundberg code reproduces M/M/1: η = μ − λ, C = ρ.
    @Test func closedFormsReduceToMM1() {
        let cl = ClosedForms.cramerLundberg([ClosedForms.ServiceClass(rate: 600, meanWork: 0.001, scv: 1)])
        #expect(abs(cl.eta - 400) < 1e-6 && abs(cl.c - 0.6) < 1e-9)
        let p99 = ClosedForms.responseQuantile(
            [ClosedForms.ServiceClass(rate: 600, meanWork: 0.001, scv: 1)], of: 0, quantile: 0.99)
        #expect(abs(p99 - Math.log(100) / 400) < 1e-9)
    }
}
