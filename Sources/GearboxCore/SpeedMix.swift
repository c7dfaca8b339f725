/// Per-request two-speed selection on one CPU (docs/model.md, "Two-speed selection").
///
/// Each request runs wholly at `high` with probability `pHigh`, else at `low`.
/// Speeds are in ref-s per second and powers are busy watts of one CPU.
public struct SpeedMix: Hashable, Sendable {
    public var lowSpeed: Double
    public var highSpeed: Double
    public var lowPower: Double
    public var highPower: Double
    public var pHigh: Double

    public init(lowSpeed: Double, highSpeed: Double, lowPower: Double, highPower: Double, pHigh: Double) {
        self.lowSpeed = lowSpeed
        self.highSpeed = highSpeed
        self.lowPower = lowPower
        self.highPower = highPower
        self.pHigh = pHigh
    }

    /// A mix of two hull points.
    public init(low: HullPoint, high: HullPoint, pHigh: Double) {
        self.init(lowSpeed: low.speed, highSpeed: high.speed, lowPower: low.busyPower.value,
                  highPower: high.busyPower.value, pHigh: pHigh)
    }

    /// One pure speed.
    public init(pure point: HullPoint) { self.init(low: point, high: point, pHigh: 1) }

    /// Mean service time per ref-s of work: `p / s_H + (1 - p) / s_L`.
    public var timePerWork: Double { pHigh / highSpeed + (1 - pHigh) / lowSpeed }

    /// `E[S²] / ((1 + c²) w²)`: `p / s_H² + (1 - p) / s_L²`.
    public var squaredTimePerWork: Double {
        pHigh / (highSpeed * highSpeed) + (1 - pHigh) / (lowSpeed * lowSpeed)
    }

    /// Busy energy in joules per ref-s of work: `p P_H / s_H + (1 - p) P_L / s_L`.
    public var energyPerWork: Double { pHigh * highPower / highSpeed + (1 - pHigh) * lowPower / lowSpeed }

    /// Fraction of time at `high` that realises `pHigh` (docs/model.md, "time-shared two-speed").
    public var timeShareHigh: Double {
        let high = pHigh / highSpeed
        let total = high + (1 - pHigh) / lowSpeed
        return total > 0 ? high / total : 0
    }

    /// `E[S]` for mean work `work` (ref-s).
    public func meanService(work: Double) -> Double { work * timePerWork }

    /// `E[S²]` for mean work `work` with squared coefficient of variation `scv`.
    public func secondMomentService(work: Double, scv: Double) -> Double {
        (1 + scv) * work * work * squaredTimePerWork
    }
}
