import GearboxCore

/// When each domain runs at its high and low frequency: H for the first θτ of every period
/// τ, L for the rest (docs/model.md, "time-shared two-speed"). A pure function of the time since
/// the schedule started, so it can be checked without a clock.
public struct DitherSchedule: Hashable, Sendable {
    /// One domain's two speeds and its share of time at the high one.
    public struct Lane: Hashable, Sendable {
        public var domain: String
        public var low: Kilohertz
        public var high: Kilohertz
        /// θ, clamped to [0, 1].
        public var timeShareHigh: Double
        /// τ in nanoseconds, at least 1.
        public var periodNanoseconds: Int64

        public init(domain: String, low: Kilohertz, high: Kilohertz, timeShareHigh: Double, period: Duration) {
            self.domain = domain
            self.low = low
            self.high = high
            self.timeShareHigh = min(1, max(0, timeShareHigh.isFinite ? timeShareHigh : 0))
            self.periodNanoseconds = max(1, DitherSchedule.nanoseconds(period))
        }

        /// Nanoseconds at H at the start of each period: θτ rounded to the nanosecond.
        var highNanoseconds: Int64 { Int64(saturating: (timeShareHigh * Double(periodNanoseconds)).rounded()) }

        /// True when the lane never changes frequency.
        public var isSteady: Bool { low == high || highNanoseconds == 0 || highNanoseconds >= periodNanoseconds }

        /// The frequency at `elapsed` nanoseconds after the schedule started.
        public func frequency(atNanoseconds elapsed: Int64) -> Kilohertz {
            if low == high { return low }
            let high = highNanoseconds
            if high == 0 { return low }
            if high >= periodNanoseconds { return self.high }
            let phase = ((elapsed % periodNanoseconds) + periodNanoseconds) % periodNanoseconds
            return phase < high ? self.high : low
        }

        /// The first instant after `elapsed` at which the frequency changes, or nil if never.
        public func nextChange(afterNanoseconds elapsed: Int64) -> Int64? {
            if isSteady { return nil }
            let start = elapsed - (((elapsed % periodNanoseconds) + periodNanoseconds) % periodNanoseconds)
            let phase = elapsed - start
            return phase < highNanoseconds ? start + highNanoseconds : start + periodNanoseconds
        }
    }

    public var lanes: [Lane]

    public init(lanes: [Lane]) { self.lanes = lanes }

    /// The schedule of a plan: τ from each domain's dither period, but never shorter than
    /// max(1 ms, 10 × the domain's transition latency) (docs/model.md); a domain without a dither
    /// period runs one speed (H when its time share is positive, else L).
    public init(plan: Plan, platform: Platform, maximumPeriod: Duration = .milliseconds(50)) {
        var byName: [String: FrequencyDomain] = [:]
        for domain in platform.domains where byName[domain.name] == nil { byName[domain.name] = domain }
        lanes = plan.domains.map { d in
            let domain = byName[d.name] ?? platform.domains.first { Set($0.cpus) == Set(d.cpus) }
            let latency = domain?.transitionLatencyMicroseconds
            let floor = Self.minimumPeriod(transitionLatencyMicroseconds: latency)
            guard let requested = d.ditherPeriod, d.low != d.high, d.timeShareHigh > 0, d.timeShareHigh < 1 else {
                let pure = d.timeShareHigh > 0 ? d.high : d.low
                return Lane(domain: d.name, low: pure, high: pure, timeShareHigh: 0, period: floor)
            }
            let period = max(floor, min(.nanoseconds(Int64(saturating: (requested * 1e9).rounded())), max(floor, maximumPeriod)))
            return Lane(domain: d.name, low: d.low, high: d.high, timeShareHigh: d.timeShareHigh, period: period)
        }
    }

    /// max(1 ms, 10 × latency); the 1 ms floor alone when the latency is unknown.
    public static func minimumPeriod(transitionLatencyMicroseconds: Double?) -> Duration {
        let tenTimes = (transitionLatencyMicroseconds ?? 0) * 10
        return max(.milliseconds(1), .nanoseconds(Int64(saturating: (tenTimes * 1000).rounded())))
    }

    /// Every lane's frequency at `elapsed` since the schedule started.
    public func frequencies(at elapsed: Duration) -> [(domain: String, frequency: Kilohertz)] {
        let t = Self.nanoseconds(elapsed)
        return lanes.map { ($0.domain, $0.frequency(atNanoseconds: t)) }
    }

    /// The first instant after `elapsed` at which any lane changes, or nil when none ever does.
    public func nextChange(after elapsed: Duration) -> Duration? {
        let t = Self.nanoseconds(elapsed)
        return lanes.compactMap { $0.nextChange(afterNanoseconds: t) }.min().map { .nanoseconds($0) }
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let (seconds, attoseconds) = d.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
