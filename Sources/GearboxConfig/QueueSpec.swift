import GearboxCore

/// The `--queue name=web,rate=800,work-ms=2,mean-ms=10[,cpus=0-7]` form of a queue on the command line.
///
/// Keys: `name`, `rate`, `work-ms`, `scv`, one of `mean-ms`/`p95-ms`/`p99-ms`, `cpus`,
/// `dispatch` (`route`, `fork-join`), `parts`, `needed`. A cpulist may contain commas
/// (`cpus=0-3,8`): an item without `=` continues the previous value.
public enum QueueSpec {
    public static let keys = ["name", "rate", "work-ms", "scv", "mean-ms", "p95-ms", "p99-ms", "cpus", "dispatch", "parts", "needed"]

    /// Parses one `--queue` value; errors name `--queue` and the key.
    public static func parse(_ spec: String, platform: Platform) throws(ConfigError) -> WorkQueue {
        let source = "--queue \(spec)"
        func fail(_ field: String?, _ message: String) -> ConfigError {
            ConfigError(file: source, line: nil, field: field, message: message)
        }
        var values: [(key: String, value: String)] = []
        for item in spec.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            if let eq = item.firstIndex(of: "=") {
                let key = String(item[..<eq])
                guard keys.contains(key) else { throw fail(key, "unknown key (expected one of \(keys.joined(separator: ", ")))") }
                guard !values.contains(where: { $0.key == key }) else { throw fail(key, "given twice") }
                values.append((key, String(item[item.index(after: eq)...])))
            } else if let last = values.last, last.key == "cpus", !item.isEmpty {
                values[values.count - 1].value += "," + item
            } else {
                throw fail(nil, "\"\(item)\" is not key=value")
            }
        }
        let lookup = Dictionary(values.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        func number(_ key: String) throws(ConfigError) -> Double? {
            guard let text = lookup[key] else { return nil }
            guard let x = Double(text), x.isFinite else { throw fail(key, "\"\(text)\" is not a number") }
            return x
        }
        func integer(_ key: String) throws(ConfigError) -> Int? {
            guard let text = lookup[key] else { return nil }
            guard let x = Int(text) else { throw fail(key, "\"\(text)\" is not an integer") }
            return x
        }
        guard let name = lookup["name"], !name.isEmpty else { throw fail("name", "missing (e.g. name=web)") }
        guard let rate = try number("rate") else { throw fail("rate", "missing (requests per second)") }
        guard let work = try number("work-ms") else { throw fail("work-ms", "missing (mean work in ms at reference speed)") }
        var targets: [LatencyTarget] = []
        for kind in LatencyKind.allCases {
            if let ms = try number("\(kind.rawValue)-ms") {
                if let refusal = InputLimits.targetMilliseconds.refusal(ms) { throw fail("\(kind.rawValue)-ms", refusal) }
                targets.append(LatencyTarget(kind: kind, seconds: ms / 1000))
            }
        }
        guard targets.count == 1 else { throw fail(nil, "give exactly one of mean-ms, p95-ms, p99-ms") }
        var cpus: [Int]?
        if let text = lookup["cpus"] {
            do { cpus = try CPUList.parse(text) } catch { throw fail("cpus", error.description) }
        }
        let parts = try integer("parts")
        let needed = try integer("needed")
        let dispatch: Dispatch
        switch lookup["dispatch"] ?? (parts != nil || needed != nil ? "fork-join" : "route") {
        case "route": dispatch = .route
        case "fork-join": dispatch = .forkJoin(parts: parts ?? 0, needed: needed ?? parts ?? 0)
        case let other: throw fail("dispatch", "must be route or fork-join, got \"\(other)\"")
        }
        let queue = WorkQueue(name: name, arrivalRate: rate, meanWork: work / 1000, scv: try number("scv") ?? 1,
                              target: targets[0], cpus: cpus, dispatch: dispatch)
        let keyFor = ["arrival_rate": "rate", "mean_work_ms": "work-ms", "latency": "\(targets[0].kind.rawValue)-ms", "cpus": "cpus"]
        return try QueueValidation.validated(queue, platform: platform) { field, message in
            fail(keyFor[field] ?? field, message)
        }
    }
}
