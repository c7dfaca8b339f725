import GearboxCore

/// Platform files (PRODUCT.md, "Files"): frequency domains with their operating points and power.
public enum PlatformFile {
    /// Reads and validates a platform file.
    public static func load(path: String) throws(ConfigError) -> Platform {
        try parse(FileText.read(path), file: path)
    }

    /// Parses platform TOML; `file` names the source in errors.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> Platform {
        var root = try FileText.parseTOML(text, file: file)
        var readers = try root.tables("domain")
        try root.finish()
        guard !readers.isEmpty else {
            throw ConfigError(file: file, line: nil, field: "domain", message: "no [[domain]] given; a platform needs at least one")
        }
        var parsed: [ParsedDomain] = []
        var owner: [Int: String] = [:]
        for i in readers.indices {
            let domain = try parseDomain(&readers[i])
            for cpu in domain.cpus {
                if let other = owner[cpu] {
                    throw readers[i].error("cpus", "CPU \(cpu) is already in domain \(other)")
                }
                owner[cpu] = readers[i].path
            }
            parsed.append(domain)
        }
        let names = parsed.map(\.name)
        if let dup = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
            throw ConfigError(file: file, line: nil, field: "domain", message: "two domains are named \"\(dup)\"")
        }
        let topFrequency = parsed.map { $0.points.last!.frequency.value }.max()!
        return Platform(domains: parsed.map { d in
            // MODEL.md: without cpu_capacity, capacity follows the top frequency.
            let capacity = d.capacity ?? 1024 * Double(d.points.last!.frequency.value) / Double(topFrequency)
            return FrequencyDomain(
                name: d.name, cpus: d.cpus, capacity: capacity, idlePower: Watts(d.idleWatts),
                operatingPoints: d.points, transitionLatencyMicroseconds: d.transitionLatency)
        })
    }

    private struct ParsedDomain {
        var name: String
        var cpus: [Int]
        var capacity: Double?
        var idleWatts: Double
        var points: [OperatingPoint]
        var transitionLatency: Double?
    }

    private static func parseDomain(_ r: inout TableReader) throws(ConfigError) -> ParsedDomain {
        let cpus = try r.require(r.cpuList("cpus"), "cpus")
        guard !cpus.isEmpty else { throw r.error("cpus", "must name at least one CPU") }
        let name = try r.string("name") ?? "policy\(cpus[0])"
        let capacity = try r.double("capacity")
        if let capacity, !(capacity > 0 && capacity <= 1024) {
            throw r.error("capacity", "must be in (0, 1024], got \(capacity)")
        }
        let idle = try r.double("idle_watts") ?? 0
        guard idle >= 0 else { throw r.error("idle_watts", "must be ≥ 0, got \(idle)") }
        let latency = try r.double("transition_latency_us")
        if let latency, latency < 0 { throw r.error("transition_latency_us", "must be ≥ 0, got \(latency)") }
        let points = try operatingPoints(&r)
        try r.finish()
        // A transition latency of 0 is what the kernel reports when it does not know.
        return ParsedDomain(name: name, cpus: cpus, capacity: capacity, idleWatts: idle, points: points,
                            transitionLatency: latency == 0 ? nil : latency)
    }

    private static func operatingPoints(_ r: inout TableReader) throws(ConfigError) -> [OperatingPoint] {
        let hasTable = r.has("opp")
        let hasModel = r.has("frequencies_khz") || r.has("power")
        if hasTable && hasModel {
            throw r.error("opp", "give either opp = [...] or frequencies_khz with power, not both")
        }
        var points: [OperatingPoint]
        if hasTable {
            points = try oppTable(&r)
        } else {
            guard r.has("frequencies_khz") else { throw r.error(nil, "missing required field \"opp\" (or \"frequencies_khz\" with \"power\")") }
            let frequencies = try frequencyList(&r)
            guard var power = try r.table("power") else { throw r.error(nil, "missing required field \"power\" (needed with frequencies_khz)") }
            let model = try parametric(&power)
            points = FrequencyDomain.operatingPoints(frequencies: frequencies, power: model)
        }
        points.sort { $0.frequency < $1.frequency }
        for i in points.indices.dropFirst() where points[i].frequency == points[i - 1].frequency {
            throw r.error(hasTable ? "opp" : "frequencies_khz", "frequency \(points[i].frequency.value) kHz appears twice")
        }
        return points
    }

    private static func oppTable(_ r: inout TableReader) throws(ConfigError) -> [OperatingPoint] {
        let items = try r.require(r.array("opp"), "opp")
        guard !items.isEmpty else { throw r.error("opp", "must hold at least one operating point") }
        var points: [OperatingPoint] = []
        for (i, item) in items.enumerated() {
            guard case .table(let t) = item.value else {
                throw ConfigError(file: r.file, line: item.line, field: "\(r.fieldName("opp"))[\(i + 1)]", message: "expected { khz = ..., watts = ... }, got a \(item.typeName)")
            }
            var p = TableReader(t, file: r.file, path: "\(r.fieldName("opp"))[\(i + 1)]")
            let khz = try p.require(p.int("khz"), "khz")
            let watts = try p.require(p.double("watts"), "watts")
            guard khz > 0 else { throw p.error("khz", "must be > 0, got \(khz)") }
            guard watts >= 0 else { throw p.error("watts", "must be ≥ 0, got \(watts)") }
            try p.finish()
            points.append(OperatingPoint(frequency: Kilohertz(khz), busyPower: Watts(watts)))
        }
        return points
    }

    private static func frequencyList(_ r: inout TableReader) throws(ConfigError) -> [Kilohertz] {
        let items = try r.require(r.array("frequencies_khz"), "frequencies_khz")
        guard !items.isEmpty else { throw r.error("frequencies_khz", "must hold at least one frequency") }
        var result: [Kilohertz] = []
        for item in items {
            guard case .integer(let khz) = item.value, khz > 0 else {
                throw ConfigError(file: r.file, line: item.line, field: r.fieldName("frequencies_khz"), message: "expected positive integers (kHz)")
            }
            result.append(Kilohertz(khz))
        }
        return result
    }

    private static func parametric(_ p: inout TableReader) throws(ConfigError) -> ParametricPower {
        let staticWatts = try p.double("static_watts") ?? 0
        let dynamicWatts = try p.require(p.double("dynamic_watts"), "dynamic_watts")
        let exponent = try p.double("exponent") ?? 3
        guard staticWatts >= 0 else { throw p.error("static_watts", "must be ≥ 0, got \(staticWatts)") }
        guard dynamicWatts > 0 else { throw p.error("dynamic_watts", "must be > 0, got \(dynamicWatts)") }
        guard exponent >= 1 else { throw p.error("exponent", "must be ≥ 1, got \(exponent)") }
        try p.finish()
        return ParametricPower(staticWatts: staticWatts, dynamicWatts: dynamicWatts, exponent: exponent)
    }
}
