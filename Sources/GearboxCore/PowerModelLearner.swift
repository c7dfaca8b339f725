/// Which power model a plan was made with (docs/model.md, "Learning the machine's power curve").
public enum PowerModelSource: String, Hashable, Sendable {
    /// The platform file's figures, or gearbox's default curve.
    case configured
    /// Curves fitted to the host's energy counters.
    case learned
}

/// Learns the busy-power curves of a host's domains from its energy zones over a sliding
/// window of intervals (`PowerCurveFit` does the fitting), and says when the curves are good
/// enough to plan with. Pure: the agent feeds it what it read.
///
/// Domains are grouped per zone into classes of the same capacity and frequencies (identical
/// CPUs share one curve). A zone's idle power (idle CPUs plus everything else in the package)
/// is one figure: it cannot be split between the CPUs and the rest, and the configured idle
/// power per CPU is kept. Only busy power above idle matters to a plan's choices.
public struct PowerModelLearner: Sendable {
    public struct Settings: Hashable, Sendable {
        /// Intervals kept (the sliding window).
        public var window = 300
        /// Intervals needed before a fit is trusted.
        public var minimumObservations = 30
        /// Largest relative standard error of a class's curve (at its lowest and highest
        /// frequency) for the fit to be used.
        public var maximumCurveError = 0.05
        /// Largest root mean square error of an interval's power, relative to the mean.
        public var maximumRMSError = 0.10
        /// The window is refitted every this many intervals (a fit costs a few milliseconds).
        public var refitEvery = 5
        public init() {}
    }

    /// An energy zone and the classes of domains it covers.
    public struct Zone: Hashable, Sendable {
        public var name: String
        /// Domain names per class, each class sorted.
        public var classes: [[String]]
        /// Domains with CPUs in this zone and in another, or in none: left to the configured model.
        public var unattributed: [String]
    }

    /// Where one zone's fit stands.
    public struct ZoneState: Hashable, Sendable {
        public var zone: Zone
        public var fit: PowerCurveFit.Result?
        public var observations: Int
        /// Nil when the fit is good; else why it is not used.
        public var notUsedBecause: String?
    }

    public let settings: Settings
    public private(set) var zones: [Zone]
    private var windows: [[PowerCurveFit.Observation]]
    private var fits: [PowerCurveFit.Result?]
    private var recorded: [Int]
    /// Each domain's frequency ratios' denominator (fmax) and class, by name.
    private let domainInfo: [String: (fmax: Double, zone: Int, cls: Int)]

    /// `zoneCPUs`: each zone's name and the CPUs it measures. A domain belongs to the zone
    /// holding all its CPUs.
    public init(platform: Platform, zoneCPUs: [(name: String, cpus: Set<Int>)], settings: Settings = Settings()) {
        self.settings = settings
        var zones: [Zone] = []
        var info: [String: (fmax: Double, zone: Int, cls: Int)] = [:]
        for (z, entry) in zoneCPUs.enumerated() {
            var classes: [[String]] = []
            var keys: [[Double]] = []
            var unattributed: [String] = []
            for domain in platform.domains where domain.cpus.contains(where: entry.cpus.contains) {
                guard domain.cpus.allSatisfy(entry.cpus.contains) else {
                    unattributed.append(domain.name)
                    continue
                }
                let key = [domain.capacity] + domain.operatingPoints.map { Double($0.frequency.value) }
                let c: Int
                if let found = keys.firstIndex(of: key) { c = found } else {
                    c = keys.count
                    keys.append(key)
                    classes.append([])
                }
                classes[c].append(domain.name)
                info[domain.name] = (Double(domain.maxFrequency.value), z, c)
            }
            zones.append(Zone(name: entry.name, classes: classes.map { $0.sorted() }, unattributed: unattributed))
        }
        self.zones = zones
        domainInfo = info
        windows = Array(repeating: [], count: zones.count)
        fits = Array(repeating: nil, count: zones.count)
        recorded = Array(repeating: 0, count: zones.count)
    }

    /// One interval of zone `zone`: `joules` measured over `duration` seconds; `timeAt` each
    /// domain's seconds at each frequency over the interval (cpufreq's `time_in_state`), and
    /// `busySeconds` each domain's busy CPU-seconds (summed over its CPUs). A domain's busy
    /// time is spread over its frequencies in proportion to its time at each.
    public mutating func record(
        zone z: Int, duration: Double, joules: Double,
        timeAt: [String: [Kilohertz: Double]], busySeconds: [String: Double]
    ) {
        guard zones.indices.contains(z), duration.isFinite, duration > 0, joules.isFinite, joules >= 0 else { return }
        var busy = [[PowerCurveFit.BusyTime]](repeating: [], count: zones[z].classes.count)
        for (c, names) in zones[z].classes.enumerated() {
            var byRatio: [Double: Double] = [:]
            for name in names {
                guard let info = domainInfo[name], let times = timeAt[name], let seconds = busySeconds[name],
                      seconds.isFinite, seconds >= 0 else { continue }
                let total = times.values.filter { $0.isFinite && $0 > 0 }.reduce(0, +)
                guard total > 0 else { continue }
                for (f, t) in times where t.isFinite && t > 0 && f.value > 0 {
                    byRatio[min(1, Double(f.value) / info.fmax), default: 0] += seconds * t / total
                }
            }
            busy[c] = byRatio.keys.sorted().map { PowerCurveFit.BusyTime(ratio: $0, seconds: byRatio[$0]!) }
        }
        windows[z].append(PowerCurveFit.Observation(duration: duration, joules: joules, busy: busy))
        if windows[z].count > settings.window { windows[z].removeFirst(windows[z].count - settings.window) }
        recorded[z] += 1
        if recorded[z] % max(1, settings.refitEvery) == 0 || (fits[z] == nil && windows[z].count >= settings.minimumObservations) {
            fits[z] = PowerCurveFit.fit(windows[z], classes: zones[z].classes.count)
        }
    }

    /// Every zone's fit and whether it is used.
    public var states: [ZoneState] {
        zones.indices.map { z in
            ZoneState(zone: zones[z], fit: fits[z], observations: windows[z].count, notUsedBecause: refusal(zone: z))
        }
    }

    /// Why zone `z`'s fit is not used, or nil when it is.
    func refusal(zone z: Int) -> String? {
        if zones[z].classes.isEmpty { return "no domain lies wholly in this zone" }
        if windows[z].count < settings.minimumObservations {
            return "\(windows[z].count) of \(settings.minimumObservations) intervals measured"
        }
        guard let fit = fits[z] else { return "no fit yet (nothing busy, or too few intervals)" }
        if fit.relativeRMSError > settings.maximumRMSError {
            return "intervals' power off by \(percent(fit.relativeRMSError)) RMS (more than \(percent(settings.maximumRMSError)))"
        }
        for (c, curve) in fit.curves.enumerated() where !(curve.relativeError <= settings.maximumCurveError) {
            let error = curve.relativeError.isFinite ? percent(curve.relativeError) : "unbounded"
            return "curve of \(zones[z].classes[c].first ?? "?")… uncertain by \(error) (more than \(percent(settings.maximumCurveError))); "
                + "the counters cannot yet separate it (too little variation in frequency or load)"
        }
        return nil
    }

    private func percent(_ x: Double) -> String {
        let tenths = (x * 1000).rounded() / 10
        return "\(tenths) %"
    }

    /// The platform with every domain of a zone whose fit is good given its learned curve
    /// (idle power as configured, busy power = idle + learned power above idle); nil when no
    /// zone's fit is good.
    public func learnedPlatform(from configured: Platform) -> Platform? {
        var platform = configured
        var changed = false
        for (i, domain) in configured.domains.enumerated() {
            guard let info = domainInfo[domain.name], refusal(zone: info.zone) == nil,
                  let curve = fits[info.zone]?.curves[info.cls] else { continue }
            let idle = domain.idlePower.value
            platform.domains[i].operatingPoints = domain.operatingPoints.map { point in
                let ratio = Double(point.frequency.value) / info.fmax
                return OperatingPoint(frequency: point.frequency, busyPower: Watts(idle + curve.watts(ratio: ratio)))
            }
            changed = true
        }
        return changed ? platform : nil
    }

    /// Whether two platforms' busy powers differ anywhere by more than `tolerance` (relative):
    /// the agent re-plans for a new learned curve only then.
    public static func differ(_ a: Platform, _ b: Platform, tolerance: Double = 0.02) -> Bool {
        guard a.domains.count == b.domains.count else { return true }
        for (x, y) in zip(a.domains, b.domains) {
            guard x.operatingPoints.count == y.operatingPoints.count else { return true }
            for (p, q) in zip(x.operatingPoints, y.operatingPoints) {
                let scale = max(abs(p.busyPower.value), abs(q.busyPower.value), 1e-9)
                if abs(p.busyPower.value - q.busyPower.value) > tolerance * scale { return true }
            }
        }
        return false
    }
}
