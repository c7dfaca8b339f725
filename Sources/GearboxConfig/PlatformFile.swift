import GearboxCore

/// Platform files (docs/formats.md): frequency domains with their operating points and power.
public enum PlatformFile {
    /// Reads and validates a platform file.
    public static func load(path: String) throws(ConfigError) -> Platform {
        try parse(FileText.read(path), file: path)
    }

    /// Parses platform TOML; `file` names the source in errors.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> Platform {
        var root = try FileText.parseTOML(text, file: file)
        var readers = try root.tables("domain", atMost: InputLimits.maximumCPU + 1)
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
        var names = Set<String>()
        if let dup = parsed.first(where: { !names.insert($0.name).inserted }) {
            throw ConfigError(file: file, line: nil, field: "domain", message: "two domains are named \"\(dup.name)\"")
        }
        // Magnitudes after structure: a file's shape is reported first, then its numbers.
        for domain in parsed {
            for written in domain.frequencies {
                if let refusal = InputLimits.frequencyKilohertz.refusal(Double(written.khz)) {
                    let hint = InputLimits.megahertzHint(kilohertz: Double(written.khz))
                    throw ConfigError(file: file, line: written.line, field: written.field, message: refusal + hint)
                }
            }
        }
        let topFrequency = parsed.map { $0.points.last!.frequency.value }.max()!
        return Platform(domains: parsed.map { d in
            // docs/model.md: without cpu_capacity, capacity follows the top frequency.
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
        /// Each frequency as written, where, for the range check once the file's shape is known good.
        var frequencies: [WrittenFrequency]
    }

    private struct WrittenFrequency {
        var khz: Int
        var line: Int
        var field: String
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
        if let refusal = InputLimits.watts.refusal(idle) { throw r.error("idle_watts", refusal) }
        let latency = try r.double("transition_latency_us")
        if let latency, latency < 0 { throw r.error("transition_latency_us", "must be ≥ 0, got \(latency)") }
        if let latency, let refusal = InputLimits.transitionLatencyMicroseconds.refusal(latency) {
            throw r.error("transition_latency_us", refusal)
        }
        var frequencies: [WrittenFrequency] = []
        let points = try operatingPoints(&r, written: &frequencies)
        try r.finish()
        // A transition latency of 0 is what the kernel reports when it does not know.
        return ParsedDomain(name: name, cpus: cpus, capacity: capacity, idleWatts: idle, points: points,
                            transitionLatency: latency == 0 ? nil : latency, frequencies: frequencies)
    }

    private static func operatingPoints(_ r: inout TableReader, written: inout [WrittenFrequency]) throws(ConfigError) -> [OperatingPoint] {
        let hasTable = r.has("opp")
        let hasModel = r.has("frequencies_khz") || r.has("power")
        if hasTable && hasModel {
            throw r.error("opp", "give either opp = [...] or frequencies_khz with power, not both")
        }
        var points: [OperatingPoint]
        if hasTable {
            points = try oppTable(&r, written: &written)
        } else {
            guard r.has("frequencies_khz") else { throw r.error(nil, "missing required field \"opp\" (or \"frequencies_khz\" with \"power\")") }
            let frequencies = try frequencyList(&r, written: &written)
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

    private static func oppTable(_ r: inout TableReader, written: inout [WrittenFrequency]) throws(ConfigError) -> [OperatingPoint] {
        let items = try r.require(r.array("opp"), "opp")
        guard !items.isEmpty else { throw r.error("opp", "must hold at least one operating point") }
        guard items.count <= InputLimits.maximumOperatingPoints else {
            throw r.error("opp", "holds \(items.count) operating points; gearbox takes at most \(InputLimits.maximumOperatingPoints)")
        }
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
            if let refusal = InputLimits.watts.refusal(watts) { throw p.error("watts", refusal) }
            try p.finish()
            written.append(WrittenFrequency(khz: khz, line: t["khz"]?.line ?? item.line, field: p.fieldName("khz")))
            points.append(OperatingPoint(frequency: Kilohertz(khz), busyPower: Watts(watts)))
        }
        return points
    }

    private static func frequencyList(_ r: inout TableReader, written: inout [WrittenFrequency]) throws(ConfigError) -> [Kilohertz] {
        let items = try r.require(r.array("frequencies_khz"), "frequencies_khz")
        guard !items.isEmpty else { throw r.error("frequencies_khz", "must hold at least one frequency") }
        guard items.count <= InputLimits.maximumOperatingPoints else {
            throw r.error("frequencies_khz", "holds \(items.count) frequencies; gearbox takes at most \(InputLimits.maximumOperatingPoints)")
        }
        var result: [Kilohertz] = []
        for item in items {
            guard case .integer(let khz) = item.value, khz > 0 else {
                throw ConfigError(file: r.file, line: item.line, field: r.fieldName("frequencies_khz"), message: "expected positive integers (kHz)")
            }
            result.append(Kilohertz(khz))
            written.append(WrittenFrequency(khz: khz, line: item.line, field: r.fieldName("frequencies_khz")))
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
        for (key, value, range) in [("static_watts", staticWatts, InputLimits.watts), ("dynamic_watts", dynamicWatts, InputLimits.watts),
                                    ("exponent", exponent, InputLimits.powerExponent)] {
            if let refusal = range.refusal(value) { throw p.error(key, refusal) }
        }
        try p.finish()
        return ParametricPower(staticWatts: staticWatts, dynamicWatts: dynamicWatts, exponent: exponent)
    }
}
