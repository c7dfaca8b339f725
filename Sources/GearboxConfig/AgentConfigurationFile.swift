import GearboxCore

/// Reads the agent's config file: sections `[agent]`, `[kernel]`, `[control]`, `[metrics]` and
/// `[[queue]]` tables (docs/formats.md). Unknown keys, wrong types and out-of-range values are refused.
public enum AgentConfigurationFile {
    public static func load(path: String, platform: Platform) throws(ConfigError) -> AgentConfiguration {
        try parse(FileText.read(path), file: path, platform: platform)
    }

    /// The config's `[agent] platform_file`, read before the rest of the file can be checked
    /// (its queues name CPUs of a platform, which on a host without cpufreq comes from that
    /// very file). Nil when the config names none.
    public static func platformFilePath(configPath path: String) throws(ConfigError) -> String? {
        var root = try FileText.parseTOML(FileText.read(path), file: path)
        guard var agent = try root.table("agent") else { return nil }
        return try nonEmpty(agent.string("platform_file"))
    }

    public static func parse(_ text: String, file: String, platform: Platform) throws(ConfigError) -> AgentConfiguration {
        var root = try FileText.parseTOML(text, file: file)
        var config = AgentConfiguration()
        if var agent = try root.table("agent") { try readAgent(&agent, into: &config) }
        if var kernel = try root.table("kernel") { try readKernel(&kernel, into: &config) }
        if var control = try root.table("control") { try readControl(&control, into: &config) }
        if var metrics = try root.table("metrics") {
            config.metricsFile = try nonEmpty(metrics.string("textfile"))
            try metrics.finish()
        }
        if var profile = try root.table("profile") { try readProfiles(&profile, into: &config.profiles) }
        var queues = try root.tables("queue", atMost: InputLimits.maximumQueues)
        try root.finish()
        for i in queues.indices {
            config.queues.append(try readQueue(&queues[i], platform: platform))
        }
        try QueueValidation.checkUniqueNames(config.queues.map(\.queue), file: file)
        return config
    }

    private static func readAgent(_ r: inout TableReader, into c: inout AgentConfiguration) throws(ConfigError) {
        if let ms = try r.double("tick_ms") {
            guard ms >= 10 && ms <= 60_000 else { throw r.error("tick_ms", "must be between 10 and 60000, got \(ms)") }
            c.tick = .milliseconds(ms)
        }
        if let ms = try r.double("max_dither_period_ms") {
            guard ms >= 1 && ms <= 1000 else { throw r.error("max_dither_period_ms", "must be between 1 and 1000, got \(ms)") }
            c.maxDitherPeriod = ms / 1000
        }
        if let rate = try r.double("max_switches_per_second", in: InputLimits.switchRate) { c.maxSwitchRate = rate }
        if let rho = try r.double("max_utilization") {
            guard rho > 0 && rho < 1 else { throw r.error("max_utilization", "must be in (0, 1), got \(rho)") }
            c.maxUtilization = rho
        }
        if let s = try r.double("smoothing_half_life_s") {
            if let refusal = InputLimits.smoothingHalfLifeSeconds.refusal(s) { throw r.error("smoothing_half_life_s", refusal) }
            c.smoothingHalfLife = s
        }
        if let h = try r.double("target_headroom") {
            guard h >= 0 && h < 0.5 else { throw r.error("target_headroom", "must be in [0, 0.5), got \(h)") }
            c.targetHeadroom = h
        }
        if let h = try r.double("hysteresis") {
            guard h >= 0 && h < 1 else { throw r.error("hysteresis", "must be in [0, 1), got \(h)") }
            c.hysteresis = h
        }
        c.platformFile = try nonEmpty(r.string("platform_file"))
        if let s = try nonEmpty(r.string("state_directory")) { c.stateDirectory = s }
        if let s = try nonEmpty(r.string("plan_file")) { c.planFile = s }
        try r.finish()
    }

    private static func readKernel(_ r: inout TableReader, into c: inout AgentConfiguration) throws(ConfigError) {
        if let ms = try r.double("request_ms") {
            if let refusal = InputLimits.workMilliseconds.refusal(ms) { throw r.error("request_ms", refusal) }
            c.kernelRequestWork = ms / 1000
        }
        if var latency = try r.table("latency") {
            c.kernelTarget = try QueueTable.latencyTarget(&latency)
        }
        try r.finish()
        guard c.kernelTarget.seconds > c.kernelRequestWork else {
            throw r.error("latency", "target \(QueueValidation.format(c.kernelTarget.milliseconds)) ms is below the request size \(QueueValidation.format(c.kernelRequestWork * 1000)) ms")
        }
    }

    private static func readControl(_ r: inout TableReader, into c: inout AgentConfiguration) throws(ConfigError) {
        if let s = try nonEmpty(r.string("socket")) { c.controlSocket = s }
        if let mode = try r.string("socket_mode") {
            guard let m = Int(mode, radix: 8), m >= 0, m <= 0o777 else {
                throw r.error("socket_mode", "must be an octal mode such as \"0666\", got \"\(mode)\"")
            }
            c.controlSocketMode = m
        }
        if r.has("group") { c.controlGroup = try nonEmpty(r.string("group")) }
        try r.finish()
    }

    private static func readQueue(_ r: inout TableReader, platform: Platform) throws(ConfigError) -> AgentQueue {
        var sourceTable = try r.table("source")
        let confinement = try QueueTable.confinement(&r)
        let queue = try QueueTable.parse(&r, platform: platform, requireRate: sourceTable == nil, confinement: confinement)
        guard var s = sourceTable else { return AgentQueue(queue: queue, confinement: confinement) }
        let url = try s.string("prometheus")
        let path = try s.string("file")
        guard (url == nil) != (path == nil) else {
            throw s.error(nil, "give one of prometheus = \"http://127.0.0.1:PORT/metrics\" or file = \"/path\"")
        }
        if let url, !(url.hasPrefix("http://")) {
            throw s.error("prometheus", "must be an http:// URL, got \"\(url)\"")
        }
        let arrivals = try s.require(s.string("arrivals"), "arrivals")
        let completions = try s.string("completions")
        let busy = try s.string("busy_seconds")
        let histogram = try s.string("histogram")
        var labels: [String: String] = [:]
        if let t = try s.table("labels") {
            for (key, node) in t.source.entries {
                guard case .string(let v) = node.value else {
                    throw ConfigError(file: t.file, line: node.line, field: t.fieldName(key), message: "label values must be strings")
                }
                labels[key] = v
            }
        }
        try s.finish()
        sourceTable = s
        let location: QueueSource.Location = url.map { .http($0) } ?? .file(path!)
        return AgentQueue(queue: queue, source: QueueSource(
            location: location, arrivals: arrivals, completions: completions,
            busySeconds: busy, histogram: histogram, labels: labels), confinement: confinement)
    }

    private static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }
}
