import GearboxCore
import Testing
@testable import GearboxConfig

@Suite struct WorkloadFileTests {
    /// Two domains: CPUs 0-3 at capacity 512, CPUs 4-5 at 1024 (top speed 1).
    static let platform = Platform(domains: [
        FrequencyDomain(name: "little", cpus: [0, 1, 2, 3], capacity: 512, idlePower: Watts(0.01),
                        operatingPoints: [OperatingPoint(frequency: Kilohertz(1_000_000), busyPower: Watts(0.2))]),
        FrequencyDomain(name: "big", cpus: [4, 5], capacity: 1024, idlePower: Watts(0.02),
                        operatingPoints: [OperatingPoint(frequency: Kilohertz(2_000_000), busyPower: Watts(1))]),
    ])

    @Test func readsQueues() throws {
        let text = """
            [[queue]]
            name = "web"
            arrival_rate = 800
            mean_work_ms = 2.0
            latency = { mean_ms = 10 }

            [[queue]]
            name = "scatter"
            arrival_rate = 5
            mean_work_ms = 8
            scv = 0.5
            latency = { p99_ms = 40 }
            cpus = "0-3"
            dispatch = "fork-join"
            needed = 2
            """
        let workload = try WorkloadFile.parse(text, file: "w.toml", platform: Self.platform)
        let web = workload.queues[0]
        #expect(web.arrivalRate == 800 && web.meanWork == 0.002 && web.scv == 1 && web.cpus == nil)
        #expect(web.target == LatencyTarget(kind: .mean, seconds: 0.010))
        #expect(web.dispatch == .route)
        let scatter = workload.queues[1]
        #expect(scatter.dispatch == .forkJoin(parts: 4, needed: 2))
        #expect(scatter.target.kind == .p99 && scatter.cpus == [0, 1, 2, 3])
    }

    static let base = "[[queue]]\nname = \"q\"\narrival_rate = 10\nmean_work_ms = 1\nlatency = { mean_ms = 10 }\n"

    @Test(arguments: [
        (base + "colour = 1", 6, "queue[1].colour", "unknown field"),
        (base.replacingOccurrences("arrival_rate = 10", "arrival_rate = \"fast\""), 3, "queue[1].arrival_rate", "expected a number"),
        (base.replacingOccurrences("arrival_rate = 10", "arrival_rate = -5"), 3, "queue[1].arrival_rate", "must be > 0"),
        (base.replacingOccurrences("arrival_rate = 10", "arrival_rate = 0"), 3, "queue[1].arrival_rate", "must be > 0"),
        (base.replacingOccurrences("mean_work_ms = 1", "mean_work_ms = 0"), 4, "queue[1].mean_work_ms", "must be > 0"),
        (base + "cpus = \"0-9\"", 6, "queue[1].cpus", "CPU 6 is in no domain"),
        (base + "cpus = \"x\"", 6, "queue[1].cpus", "not a cpulist"),
        (base + "dispatch = \"fork-join\"\nparts = 2\nneeded = 3", 8, "queue[1].needed", "must not exceed parts"),
        (base + "dispatch = \"fork-join\"\ncpus = \"4-5\"\nparts = 3", 8, "queue[1].parts", "3 parts need 3 distinct CPUs"),
        (base + "parts = 2", 6, "queue[1].parts", "only applies"),
        (base + "dispatch = \"round-robin\"", 6, "queue[1].dispatch", "must be"),
        (base.replacingOccurrences("mean_ms = 10", "mean_ms = 0.5"), 5, "queue[1].latency", "below the bare service time 1 ms"),
        (base.replacingOccurrences("mean_ms = 10", "p99_ms = 10, mean_ms = 5"), 5, "queue[1].latency", "only one of"),
        (base.replacingOccurrences("latency = { mean_ms = 10 }", "latency = { p50_ms = 10 }"), 5, "queue[1].latency.p50_ms", "unknown field"),
        (base + base, 1, "queue[2].name", "two queues are named"),
    ])
    func refusesEachKindOfMistakeNamingLineAndField(text: String, line: Int?, field: String, message: String) {
        #expect {
            try WorkloadFile.parse(text, file: "bad.toml", platform: Self.platform)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            let lineOK = field.hasPrefix("queue[2].name") ? true : error.line == line
            return error.file == "bad.toml" && lineOK && error.field == field && error.message.contains(message)
        }
    }

    @Test func queueSpecsFromTheCommandLine() throws {
        let q = try QueueSpec.parse("name=web,rate=800,work-ms=2,p99-ms=40,cpus=0-1,4", platform: Self.platform)
        #expect(q.name == "web" && q.arrivalRate == 800 && q.meanWork == 0.002)
        #expect(q.target == LatencyTarget(kind: .p99, seconds: 0.04))
        #expect(q.cpus == [0, 1, 4])
        let fj = try QueueSpec.parse("name=fj,rate=1,work-ms=2,mean-ms=40,parts=2", platform: Self.platform)
        #expect(fj.dispatch == .forkJoin(parts: 2, needed: 2))
    }

    @Test(arguments: [
        ("name=web,rate=800,work-ms=2", "give exactly one of"),
        ("name=web,rate=fast,work-ms=2,mean-ms=10", "rate: \"fast\" is not a number"),
        ("name=web,rate=-1,work-ms=2,mean-ms=10", "rate: must be > 0"),
        ("name=web,rate=1,work-ms=2,mean-ms=10,colour=red", "colour: unknown key"),
        ("name=web,rate=1,work-ms=20,mean-ms=10", "work-ms"),
        ("name=web,rate=1,work-ms=2,mean-ms=10,cpus=7", "cpus: CPU 7 is in no domain"),
    ])
    func refusesBadQueueSpecs(spec: String, message: String) {
        #expect {
            try QueueSpec.parse(spec, platform: Self.platform)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.description.hasPrefix("--queue \(spec): ") && error.description.contains(message)
                || (message == "work-ms" && error.description.contains("bare service time"))
        }
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
