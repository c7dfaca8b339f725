import GearboxCore
import GearboxSimulator
import Testing

/// How large a run may be, and traces that go back in time (issue 17: `arrival_rate = 1e300`
/// or `--duration 1e12` ran silently without bound; an out-of-order trace was taken).
@Suite struct SimulationBoundsTests {
    static func queue(_ name: String, rate: Double, dispatch: Dispatch = .route) -> WorkQueue {
        WorkQueue(name: name, arrivalRate: rate, meanWork: 0.001, scv: 1,
                  target: LatencyTarget(kind: .mean, seconds: 0.010), cpus: nil, dispatch: dispatch)
    }

    @Test func expectedRequestsCountEachForkJoinSubtask() {
        let workload = Workload(queues: [Self.queue("a", rate: 100), Self.queue("b", rate: 50, dispatch: .forkJoin(parts: 4, needed: 3))])
        var configuration = SimulationConfiguration()
        configuration.warmUp = 10
        configuration.duration = 60
        // 100/s × 70 s, and 50/s × 70 s × 4 subtasks.
        #expect(configuration.expectedRequests(workload: workload, traces: [:]) == 7_000 + 14_000)
        let trace = ArrivalTrace(arrivals: (0..<25).map { TraceArrival(time: Double($0), work: 0.001) })
        #expect(configuration.expectedRequests(workload: workload, traces: ["a": trace]) == 25 + 14_000)
    }

    @Test func aRunOfSevenHundredMillionRequestsIsRefused() {
        var configuration = SimulationConfiguration()
        configuration.warmUp = 10
        configuration.duration = 60
        let workload = Workload(queues: [Self.queue("web", rate: 10_000_000)])
        #expect(throws: SimulationInputError.self) { try configuration.checkSize(workload: workload, traces: [:]) }
        // A thousand times fewer is an ordinary run.
        let modest = Workload(queues: [Self.queue("web", rate: 10_000)])
        #expect(throws: Never.self) { try configuration.checkSize(workload: modest, traces: [:]) }
    }

    @Test(arguments: [(0.0, 10.0, "duration"), (-5, 10, "duration"), (1e12, 10, "duration"), (.nan, 10, "duration"),
                      (.infinity, 10, "duration"), (60, -1, "warm-up"), (60, 1e12, "warm-up"), (60, .nan, "warm-up")])
    func durationsOutOfRangeAreRefusedNamingTheField(duration: Double, warmUp: Double, field: String) {
        var configuration = SimulationConfiguration()
        configuration.duration = duration
        configuration.warmUp = warmUp
        let workload = Workload(queues: [Self.queue("web", rate: 1)])
        #expect {
            try configuration.checkSize(workload: workload, traces: [:])
        } throws: { error in
            (error as? SimulationInputError)?.field == field
        }
    }

    @Test func aTraceThatGoesBackInTimeIsRefusedAtThatRow() {
        #expect {
            try ArrivalTrace.parse(csv: "time_s,work_ms\n0.1,2\n0.5,2\n0.3,2\n")
        } throws: { error in
            guard let error = error as? TraceError else { return false }
            return error.line == 4 && error.field == "time_s" && error.message.contains("line 3")
        }
    }

    /// Order is per queue: rows of two queues may interleave as long as each goes forward.
    @Test func queuesOfATraceAreOrderedEachOnTheirOwn() throws {
        let traces = try ArrivalTrace.parse(csv: "time_s,work_ms,queue\n0.5,1,a\n0.1,1,b\n0.6,1,a\n0.2,1,b\n0.2,1,b\n")
        #expect(traces["a"]?.arrivals.map(\.time) == [0.5, 0.6])
        #expect(traces["b"]?.arrivals.map(\.time) == [0.1, 0.2, 0.2])
    }

    /// An absolute timestamp (seconds since 1970) where seconds from the start are meant.
    @Test(arguments: [("1733400000,2", "time_s"), ("1,1e300", "work_ms"), ("1,1e19", "work_ms")])
    func traceNumbersOutOfRangeAreRefused(row: String, field: String) {
        #expect {
            try ArrivalTrace.parse(csv: "time_s,work_ms\n" + row + "\n")
        } throws: { error in
            (error as? TraceError).map { $0.line == 2 && $0.field == field } ?? false
        }
    }
}
