/// A closed range of sane values for one kind of number read from outside (a file, a flag, a
/// trace or the control socket), with its unit for messages.
///
/// Values outside are refused before any use: the bounds keep every later product, quotient
/// and conversion finite (no `Int(someDouble)` trap, no infinite plan), and the floors catch
/// unit mistakes such as MHz written where kHz are meant.
public struct InputRange: Hashable, Sendable {
    public var lowest: Double
    public var highest: Double
    public var unit: String

    public init(_ lowest: Double, _ highest: Double, unit: String) {
        self.lowest = lowest
        self.highest = highest
        self.unit = unit
    }

    public func contains(_ x: Double) -> Bool { x.isFinite && x >= lowest && x <= highest }

    /// nil when `x` is in range; otherwise the reason, e.g. "must be between 0.01 and 3600000
    /// ms, got 1e+300". A non-positive value where only positive ones are sane gets "must be
    /// > 0", the mistake it most likely is.
    public func refusal(_ x: Double) -> String? {
        if contains(x) { return nil }
        if lowest > 0 && x <= 0 { return "must be > 0, got \(InputLimits.text(x))" }
        return "must be between \(InputLimits.text(lowest)) and \(InputLimits.text(highest))\(unit.isEmpty ? "" : " " + unit), got \(InputLimits.text(x))"
    }
}

/// The ranges gearbox accepts, in one place (SECURITY.md lists them).
public enum InputLimits {
    /// Requests per second of a queue: one every 2.8 hours up to ten million a second.
    public static let arrivalRate = InputRange(0.0001, 10_000_000, unit: "requests/s")
    /// Mean work of a request at reference speed: 100 ns to one hour.
    public static let workMilliseconds = InputRange(0.0001, 3_600_000, unit: "ms")
    /// Squared coefficient of variation of the work: near-deterministic to very heavy-tailed.
    public static let scv = InputRange(0.001, 1000, unit: "")
    /// A latency target (mean, p95 or p99): 10 µs to one hour.
    public static let targetMilliseconds = InputRange(0.01, 3_600_000, unit: "ms")
    /// A CPU frequency: 10 MHz to 20 GHz. The floor catches MHz written where kHz are meant.
    public static let frequencyKilohertz = InputRange(10_000, 20_000_000, unit: "kHz")
    /// Power of one CPU (busy, idle, static or dynamic part).
    public static let watts = InputRange(0, 1000, unit: "W")
    /// Exponent of the parametric power model P = static + dynamic · (f / fmax)^exponent.
    public static let powerExponent = InputRange(1, 10, unit: "")
    /// A frequency transition's latency as the kernel reports it: at most one second.
    public static let transitionLatencyMicroseconds = InputRange(0, 1_000_000, unit: "µs")
    /// Half-life of the agent's moving averages: at most a day.
    public static let smoothingHalfLifeSeconds = InputRange(0.001, 86_400, unit: "s")
    /// A cap on the host's frequency switches per second (0: no two-speed mixes at all).
    public static let switchRate = InputRange(0, 10_000_000, unit: "switches/s")
    /// Highest CPU number: Linux's NR_CPUS is at most 8192.
    public static let maximumCPU = 8191
    /// Queues in one workload or agent configuration.
    public static let maximumQueues = 256
    /// Operating points (or listed frequencies) of one domain.
    public static let maximumOperatingPoints = 1024

    /// For a frequency below the floor that would be in range as MHz: the hint that says so
    /// (" (values are kHz; did you mean ...)"); otherwise "".
    public static func megahertzHint(kilohertz: Double) -> String {
        guard kilohertz > 0, kilohertz < frequencyKilohertz.lowest,
              frequencyKilohertz.contains(kilohertz * 1000) else { return "" }
        return " (values are kHz; did you mean \(text(kilohertz)) MHz = \(text(kilohertz * 1000)) kHz?)"
    }

    /// A number for a message: whole numbers without a fraction, anything else as Swift
    /// prints it (locale-free, and never traps, whatever the value).
    public static func text(_ x: Double) -> String {
        if x.isFinite, x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
        return String(x)
    }
}
