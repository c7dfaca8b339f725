import GearboxCore

/// Workload files (docs/formats.md): the queues a plan must serve.
public enum WorkloadFile {
    /// Reads and validates a workload file against the platform it will run on.
    public static func load(path: String, platform: Platform) throws(ConfigError) -> Workload {
        try parse(FileText.read(path), file: path, platform: platform)
    }

    /// Parses workload TOML; `file` names the source in errors.
    public static func parse(_ text: String, file: String, platform: Platform) throws(ConfigError) -> Workload {
        var root = try FileText.parseTOML(text, file: file)
        var readers = try root.tables("queue", atMost: InputLimits.maximumQueues)
        try root.finish()
        guard !readers.isEmpty else {
            throw ConfigError(file: file, line: nil, field: "queue", message: "no [[queue]] given; a workload needs at least one")
        }
        var queues: [WorkQueue] = []
        for i in readers.indices {
            let confinement = try QueueTable.confinement(&readers[i])
            queues.append(try QueueTable.parse(&readers[i], platform: platform, confinement: confinement))
        }
        try QueueValidation.checkUniqueNames(queues, file: file)
        return Workload(queues: queues)
    }
}

/// One `[[queue]]` table, shared by workload files and the agent's config.
enum QueueTable {
    /// Keys a `[[queue]]` may hold in a workload file.
    static let keys = ["name", "arrival_rate", "mean_work_ms", "scv", "latency", "cpus", "dispatch", "parts", "needed", "priority", "unit", "cgroup"]

    /// `requireRate: false` lets a live queue (with a source) omit its rate and work: they are
    /// measured, and the written values, when given, only seed the estimates.
    /// `confinement`: the queue's `unit` or `cgroup`, read first (`QueueTable.confinement`).
    static func parse(
        _ r: inout TableReader, platform: Platform, requireRate: Bool = true, confinement: QueueConfinement? = nil
    ) throws(ConfigError) -> WorkQueue {
        let name = try r.require(r.string("name"), "name")
        guard !name.isEmpty else { throw r.error("name", "must not be empty") }
        let rate = try requireRate ? r.require(r.double("arrival_rate", in: InputLimits.arrivalRate), "arrival_rate")
            : (r.double("arrival_rate", in: InputLimits.arrivalRate) ?? 1)
        let workMs = try requireRate ? r.require(r.double("mean_work_ms", in: InputLimits.workMilliseconds), "mean_work_ms")
            : (r.double("mean_work_ms", in: InputLimits.workMilliseconds) ?? 1)
        let scv = try r.double("scv", in: InputLimits.scv) ?? 1
        guard var latency = try r.table("latency") else {
            throw r.error(nil, "missing required field \"latency\" (e.g. latency = { mean_ms = 10 })")
        }
        let target = try latencyTarget(&latency)
        let cpus = try r.cpuList("cpus")
        let dispatch = try dispatchMode(&r)
        let priority = try r.int("priority") ?? 0
        guard abs(priority) <= Self.maximumPriority else {
            throw r.error("priority", "\(priority) is outside -\(Self.maximumPriority) to \(Self.maximumPriority)")
        }
        try r.finish()
        var queue = WorkQueue(name: name, arrivalRate: rate, meanWork: workMs / 1000, scv: scv,
                              target: target, cpus: cpus, dispatch: dispatch)
        queue.priority = priority
        if let confinement {
            guard dispatch == .route else {
                throw r.error(confinement.key, "only a route queue can be confined (its requests each run whole on one CPU)")
            }
            queue.confined = true
        }
        let fail = { (field: String, message: String) -> ConfigError in r.error(field, message) }
        return try QueueValidation.validated(queue, platform: platform, fail: fail)
    }

    /// Largest priority magnitude: an overloaded plan keeps higher priorities first.
    static let maximumPriority = 1000

    static func latencyTarget(_ r: inout TableReader) throws(ConfigError) -> LatencyTarget {
        var found: [(LatencyKind, Double)] = []
        for kind in LatencyKind.allCases {
            if let ms = try r.double("\(kind.rawValue)_ms") { found.append((kind, ms)) }
        }
        try r.finish()
        guard found.count == 1 else {
            throw r.error(nil, found.isEmpty ? "give one of mean_ms, p95_ms, p99_ms" : "give only one of mean_ms, p95_ms, p99_ms")
        }
        let (kind, ms) = found[0]
        if let refusal = InputLimits.targetMilliseconds.refusal(ms) { throw r.error("\(kind.rawValue)_ms", refusal) }
        return LatencyTarget(kind: kind, seconds: ms / 1000)
    }

    private static func dispatchMode(_ r: inout TableReader) throws(ConfigError) -> Dispatch {
        let mode = try r.string("dispatch") ?? "route"
        let parts = try r.int("parts")
        let needed = try r.int("needed")
        switch mode {
        case "route":
            if parts != nil || needed != nil { throw r.error(parts != nil ? "parts" : "needed", "only applies to dispatch = \"fork-join\"") }
            return .route
        case "fork-join":
            // `parts` defaults to the queue's CPUs; that is resolved in validation, where the
            // platform is known. 0 stands for "not given" until then.
            return .forkJoin(parts: parts ?? 0, needed: needed ?? parts ?? 0)
        default:
            throw r.error("dispatch", "must be \"route\" or \"fork-join\", got \"\(mode)\"")
        }
    }
}

/// Checks on a queue that need the platform: CPUs exist, fork-join shape, reachable target.
enum QueueValidation {
    /// The queue with defaults resolved (fork-join `parts` = its CPUs), or the first problem.
    static func validated(_ queue: WorkQueue, platform: Platform, fail: (String, String) -> ConfigError) throws(ConfigError) -> WorkQueue {
        var queue = queue
        // Every source of queues (files, --queue) comes through here: the ranges hold for all.
        if let refusal = InputLimits.arrivalRate.refusal(queue.arrivalRate) { throw fail("arrival_rate", refusal) }
        if let refusal = InputLimits.workMilliseconds.refusal(queue.meanWork * 1000) { throw fail("mean_work_ms", refusal) }
        if let refusal = InputLimits.scv.refusal(queue.scv) { throw fail("scv", refusal) }
        if let refusal = InputLimits.targetMilliseconds.refusal(queue.target.milliseconds) { throw fail("latency", refusal) }
        let known = Set(platform.cpus)
        if let cpus = queue.cpus {
            guard !cpus.isEmpty else { throw fail("cpus", "must name at least one CPU") }
            if let missing = cpus.first(where: { !known.contains($0) }) {
                throw fail("cpus", "CPU \(missing) is in no domain of the platform (it has \(CPUList.format(platform.cpus)))")
            }
        }
        let allowed = queue.allowedCPUs(on: platform)
        if case .forkJoin(let parts, let needed) = queue.dispatch {
            let n = parts == 0 ? allowed.count : parts
            let k = needed == 0 ? n : needed
            guard n >= 1 else { throw fail("parts", "must be ≥ 1, got \(n)") }
            guard n <= allowed.count else { throw fail("parts", "\(n) parts need \(n) distinct CPUs; the queue may use \(allowed.count)") }
            guard k >= 1 else { throw fail("needed", "must be ≥ 1, got \(k)") }
            guard k <= n else { throw fail("needed", "needed (\(k)) must not exceed parts (\(n))") }
            queue.dispatch = .forkJoin(parts: n, needed: k)
        }
        let bare = bareServiceTime(queue, allowed: allowed, platform: platform)
        guard queue.target.seconds > bare else {
            throw fail("latency", "target \(format(queue.target.milliseconds)) ms is below the bare service time \(format(bare * 1000)) ms at top speed")
        }
        return queue
    }

    /// The mean time a request takes with no queueing, on the fastest CPUs it may use at top speed.
    static func bareServiceTime(_ queue: WorkQueue, allowed: [Int], platform: Platform) -> Double {
        let speeds = allowed.compactMap { cpu in
            platform.domainIndex(ofCPU: cpu).map { platform.domains[$0].capacity / 1024 }
        }.sorted(by: >)
        guard let top = speeds.first, top > 0 else { return .infinity }
        switch queue.dispatch {
        case .route:
            return queue.meanWork / top
        case .forkJoin(let parts, let needed):
            let n = min(parts == 0 ? speeds.count : parts, speeds.count)
            let k = needed == 0 ? n : needed
            if k == n {
                // Work split in proportion to speed over the n fastest CPUs.
                return queue.meanWork / speeds.prefix(n).reduce(0, +)
            }
            return queue.meanWork / Double(k) / top
        }
    }

    /// `x` to three decimals for a message; never traps, whatever `x` is.
    static func format(_ x: Double) -> String {
        abs(x) < 1e12 ? InputLimits.text((x * 1000).rounded() / 1000) : InputLimits.text(x)
    }

    static func checkUniqueNames(_ queues: [WorkQueue], file: String) throws(ConfigError) {
        var seen = Set<String>()
        for (i, q) in queues.enumerated() where !seen.insert(q.name).inserted {
            throw ConfigError(file: file, line: nil, field: "queue[\(i + 1)].name", message: "two queues are named \"\(q.name)\"")
        }
    }
}
