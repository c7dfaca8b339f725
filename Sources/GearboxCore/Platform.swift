/// One operating point of a frequency domain: a frequency and the busy power of one CPU there.
public struct OperatingPoint: Hashable, Sendable {
    public var frequency: Kilohertz
    public var busyPower: Watts
    public init(frequency: Kilohertz, busyPower: Watts) {
        self.frequency = frequency
        self.busyPower = busyPower
    }
}

/// The parametric power model `P_busy(f) = static + dynamic * (f / fmax)^exponent` (docs/model.md).
public struct ParametricPower: Hashable, Sendable {
    public var staticWatts: Double
    public var dynamicWatts: Double
    public var exponent: Double
    public init(staticWatts: Double, dynamicWatts: Double, exponent: Double = 3) {
        self.staticWatts = staticWatts
        self.dynamicWatts = dynamicWatts
        self.exponent = exponent
    }
}

/// A cpufreq policy: CPUs that must run at one frequency.
///
/// `operatingPoints` are ascending by frequency and carry resolved busy power, whichever
/// way the platform file gave it (table or parametric model). All CPUs of a domain share
/// one `capacity` (Linux's `cpu_capacity`, 1024 = the most capable CPU at its top frequency).
public struct FrequencyDomain: Hashable, Sendable {
    public var name: String
    public var cpus: [Int]
    public var capacity: Double
    public var idlePower: Watts
    public var operatingPoints: [OperatingPoint]
    /// `cpuinfo_transition_latency` in microseconds; nil when unknown.
    public var transitionLatencyMicroseconds: Double?

    public init(
        name: String, cpus: [Int], capacity: Double, idlePower: Watts,
        operatingPoints: [OperatingPoint], transitionLatencyMicroseconds: Double? = nil
    ) {
        self.name = name
        self.cpus = cpus
        self.capacity = capacity
        self.idlePower = idlePower
        self.operatingPoints = operatingPoints.sorted { $0.frequency < $1.frequency }
        self.transitionLatencyMicroseconds = transitionLatencyMicroseconds
    }

    public var maxFrequency: Kilohertz { operatingPoints.last!.frequency }
    public var minFrequency: Kilohertz { operatingPoints.first!.frequency }

    /// Speed in ref-s of work per second: `(capacity / 1024) * (f / fmax)`.
    public func speed(at frequency: Kilohertz) -> Double {
        (capacity / 1024) * Double(frequency.value) / Double(maxFrequency.value)
    }

    /// Operating points from frequencies and the parametric power model.
    public static func operatingPoints(
        frequencies: [Kilohertz], power: ParametricPower
    ) -> [OperatingPoint] {
        let fmax = Double(frequencies.max()?.value ?? 1)
        return frequencies.sorted().map { f in
            var ratio = Double(f.value) / fmax
            // x^e by repeated exp/log would pull in the math library; the core keeps
            // RealModule for that, see Math.swift.
            ratio = Math.pow(ratio, power.exponent)
            return OperatingPoint(
                frequency: f, busyPower: Watts(power.staticWatts + power.dynamicWatts * ratio))
        }
    }
}

/// The host: its frequency domains. CPU numbers are Linux's.
public struct Platform: Hashable, Sendable {
    public var domains: [FrequencyDomain]
    public init(domains: [FrequencyDomain]) { self.domains = domains }

    /// Every CPU of every domain, ascending.
    public var cpus: [Int] { domains.flatMap(\.cpus).sorted() }

    /// Index of the domain that holds `cpu`, if any.
    public func domainIndex(ofCPU cpu: Int) -> Int? {
        domains.firstIndex { $0.cpus.contains(cpu) }
    }
}
