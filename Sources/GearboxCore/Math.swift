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
