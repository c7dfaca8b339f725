import GearboxCore

extension Math {
    /// 2^x.
    static func exp2(_ x: Double) -> Double { exp(x * log(2)) }
}
