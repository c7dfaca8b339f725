import GearboxControl
import GearboxCore
import GearboxLinux

/// The agent's side of learning the power curve: every tick it adds up each domain's busy
/// CPU-seconds; every `sampleInterval` it reads the package energy counters and each domain's
/// `time_in_state`, gives the interval to `PowerModelLearner`, and says which platform the
/// plans should use. Without a readable package zone it does nothing and the configured model
/// stays.
struct PowerLearning: Sendable {
    /// What `tick` asks of the loop.
    enum Change: Sendable, Equatable {
        /// Plan with this learned platform from now on.
        case learned(Platform)
        /// The learned curve is no longer good: back to the configured platform.
        case configured
    }

    let reader: PowerCounterReader
    let configured: Platform
    let zones: [PowerCounterReader.PackageZone]
    var learner: PowerModelLearner
    let sampleInterval: Double
    /// The learned platform the loop plans with, nil while it uses the configured one.
    private(set) var inUse: Platform?
    /// Why no zone is learned from at all, when none is.
    private(set) var unavailable: String?

    private var busy: [String: Double] = [:]
    private var lastSample: (time: Double, energy: [UInt64?], timeInState: [String: [Kilohertz: Double]])?
    private var lastTick: Double?
    private let domainOfCPU: [Int: String]
    /// Each learned domain and the CPU whose `time_in_state` is read for it.
    private let learnedDomains: [(name: String, cpu: Int)]

    init(reader: PowerCounterReader, platform: Platform, sampleInterval: Double = 2,
         settings: PowerModelLearner.Settings = .init()) {
        self.reader = reader
        configured = platform
        self.sampleInterval = sampleInterval
        let zones = reader.packageZones(cpus: platform.cpus)
        self.zones = zones
        learner = PowerModelLearner(platform: platform, zoneCPUs: zones.map { ($0.zone + " (" + $0.name + ")", $0.cpus) },
                                    settings: settings)
        var owner: [Int: String] = [:]
        for d in platform.domains { for cpu in d.cpus { owner[cpu] = d.name } }
        domainOfCPU = owner
        let inZones = Set(learner.zones.flatMap { $0.classes.joined() })
        learnedDomains = platform.domains.filter { inZones.contains($0.name) }.map { ($0.name, $0.cpus[0]) }
        unavailable = zones.isEmpty ? "no readable RAPL package zone under \(reader.powercap.root)" : nil
        refreshDocument()
    }

    /// One tick: `busy` the CPUs' busy fractions over the tick, `now` seconds on the agent's clock.
    mutating func tick(busy fractions: [Int: Double], now: Double) -> Change? {
        guard unavailable == nil else { return nil }
        if let last = lastTick, now > last {
            let gap = now - last
            for (cpu, fraction) in fractions where fraction.isFinite {
                if let name = domainOfCPU[cpu] { busy[name, default: 0] += min(1, max(0, fraction)) * gap }
            }
        }
        lastTick = now
        if let last = lastSample, now - last.time < sampleInterval { return nil }
        let energy = zones.map { reader.energy(zone: $0.zone) }
        var times: [String: [Kilohertz: Double]] = [:]
        for domain in learnedDomains { times[domain.name] = reader.timeInState(cpu: domain.cpu) }
        defer {
            lastSample = (now, energy, times)
            busy = [:]
        }
        if times.isEmpty && !learnedDomains.isEmpty {
            // No CONFIG_CPU_FREQ_STAT: the time at each frequency is unknown.
            unavailable = "no cpufreq stats/time_in_state under \(reader.sysfs.root)"
            refreshDocument()
            return inUse == nil ? nil : decideConfigured()
        }
        guard let last = lastSample else { return nil }
        let duration = now - last.time
        var deltas: [String: [Kilohertz: Double]] = [:]
        for (name, current) in times {
            guard let earlier = last.timeInState[name] else { continue }
            var delta: [Kilohertz: Double] = [:]
            // A counter that went back (a policy re-created) spoils the interval for that domain.
            for (f, t) in current { delta[f] = t - (earlier[f] ?? 0) }
            if delta.values.allSatisfy({ $0 >= 0 }) { deltas[name] = delta }
        }
        for (z, zone) in zones.enumerated() {
            guard let now = energy[z], let then = last.energy[z] else { continue }
            let joules = EnergyCounter.joules(from: then, to: now, range: zone.maxEnergyRangeMicrojoules)
            learner.record(zone: z, duration: duration, joules: joules, timeAt: deltas, busySeconds: busy)
        }
        let change = decide()
        refreshDocument()
        return change
    }

    /// Switches to a learned platform once a fit is good, to a new one when it moved by more
    /// than 2 %, and back to the configured one when no fit is good any more.
    private mutating func decideConfigured() -> Change? {
        inUse = nil
        refreshDocument()
        return .configured
    }

    private mutating func decide() -> Change? {
        guard let learned = learner.learnedPlatform(from: configured) else {
            guard inUse != nil else { return nil }
            inUse = nil
            return .configured
        }
        if let current = inUse, !PowerModelLearner.differ(current, learned) { return nil }
        inUse = learned
        return .learned(learned)
    }

    /// The `power_model` object of `status` (docs/formats.md), rebuilt when an interval is
    /// recorded rather than on every status snapshot.
    private(set) var document: JSONValue = .null

    private mutating func refreshDocument() {
        document = PowerModelDocument.json(source: inUse == nil ? .configured : .learned, configured: configured,
                                           learned: inUse, states: learner.states, unavailable: unavailable)
    }

    /// The loop went back to the configured model (a reload): offer the learned one again.
    mutating func forgetInUse() {
        inUse = nil
        refreshDocument()
    }
}

/// The `power_model` object: which model plans use, each zone's fit and its quality, and
/// the configured and learned busy power of each learned domain class side by side.
enum PowerModelDocument {
    static func json(
        source: PowerModelSource, configured: Platform, learned: Platform?,
        states: [PowerModelLearner.ZoneState], unavailable: String?
    ) -> JSONValue {
        var fields: [(String, JSONValue)] = [("source", .string(source.rawValue))]
        if let unavailable { fields.append(("unavailable", .string(unavailable))) }
        fields.append(("zones", .array(states.map { zone(state: $0, configured: configured, learned: learned) })))
        return .object(fields)
    }

    static func zone(state: PowerModelLearner.ZoneState, configured: Platform, learned: Platform?) -> JSONValue {
        let fit = state.fit
        var classes: [JSONValue] = []
        for (c, names) in state.zone.classes.enumerated() {
            let domain = configured.domains.first { $0.name == names.first }
            let learnedDomain = learned?.domains.first { $0.name == names.first }
            let curve = fit?.curves[c]
            var points: [JSONValue] = []
            for (i, point) in (domain?.operatingPoints ?? []).enumerated() {
                let ratio = Double(point.frequency.value) / Double(domain?.maxFrequency.value ?? 1)
                points.append(.object([
                    ("khz", .int(point.frequency.value)),
                    ("configured_watts", .finite(point.busyPower.value)),
                    ("fitted_watts", curve.map { .finite((domain?.idlePower.value ?? 0) + $0.watts(ratio: ratio)) } ?? .null),
                    ("learned_watts", learnedDomain.map { .finite($0.operatingPoints[i].busyPower.value) } ?? .null),
                ]))
            }
            classes.append(.object([
                ("domains", .array(names.map { .string($0) })),
                ("above_idle_watts", curve.map { .finite($0.aboveIdle) } ?? .null),
                ("dynamic_watts", curve.map { .finite($0.dynamic) } ?? .null),
                ("exponent", curve.map { .finite($0.exponent) } ?? .null),
                ("curve_error", curve.map { .finite($0.relativeError) } ?? .null),
                ("frequencies_seen", curve.map { .int($0.frequenciesSeen) } ?? .null),
                ("points", .array(points)),
            ]))
        }
        return .object([
            ("zone", .string(state.zone.name)),
            ("used", .bool(state.notUsedBecause == nil)),
            ("not_used_because", state.notUsedBecause.map { .string($0) } ?? .null),
            ("intervals", .int(state.observations)),
            ("r_squared", fit.map { .finite($0.rSquared) } ?? .null),
            ("rms_error", fit.map { .finite($0.relativeRMSError) } ?? .null),
            ("idle_watts", fit.map { .finite($0.idleWatts) } ?? .null),
            ("exponent_fitted", fit.map { .bool($0.exponentFitted) } ?? .null),
            ("unseparated", .string("the zone's idle watts cover idle CPUs and the rest of the package together; "
                + "per-CPU idle power stays as configured")),
            ("unattributed_domains", .array(state.zone.unattributed.map { .string($0) })),
            ("classes", .array(classes)),
        ])
    }
}
