import RealModule

/// Elementary functions for the core, from swift-numerics (no Foundation).
public enum Math {
    @inlinable public static func exp(_ x: Double) -> Double { Double.exp(x) }
    @inlinable public static func log(_ x: Double) -> Double { Double.log(x) }
    @inlinable public static func pow(_ x: Double, _ y: Double) -> Double { Double.pow(x, y) }
    @inlinable public static func lgamma(_ x: Double) -> Double { Double.logGamma(x) }
    /// `exp(x) - 1`, accurate for small `x`.
    @inlinable public static func expm1(_ x: Double) -> Double { Double.expMinusOne(x) }
    /// 2^x.
    @inlinable public static func exp2(_ x: Double) -> Double { Double.exp2(x) }
    /// `log(1 + x)`, accurate for small `x`.
    @inlinable public static func log1p(_ x: Double) -> Double { Double.log(onePlus: x) }
}

extension Int {
    /// `x` rounded toward zero and clamped into Int's range; 0 for NaN. `Int(x)` traps on a
    /// NaN, an infinity or a value beyond the range, which a degenerate input can produce.
    public init(saturating x: Double) {
        if x.isNaN {
            self = 0
        } else if x >= 9.2e18 {
            self = .max
        } else if x <= -9.2e18 {
            self = .min
        } else {
            self = Int(x)
        }
    }
}

extension Int64 {
    /// `x` rounded toward zero and clamped into Int64's range; 0 for NaN (see `Int(saturating:)`).
    public init(saturating x: Double) {
        self = Int64(Int(saturating: x))
    }
}
