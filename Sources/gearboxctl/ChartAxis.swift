import Foundation

/// One axis of the compare chart: the range of values it shows and its round tick values.
/// Both ends lie a little beyond the values it must cover, so that it shows the band where
/// the policies differ rather than a range from zero.
struct ChartAxis: Equatable {
    enum Scale: Equatable { case linear, logarithmic }

    var scale: Scale
    var lower: Double
    var upper: Double
    var ticks: [Double]

    /// Where `value` lies between the ends: 0 at `lower`, 1 at `upper`.
    func fraction(_ value: Double) -> Double {
        switch scale {
        case .linear: (value - lower) / (upper - lower)
        case .logarithmic: Foundation.log(value / lower) / Foundation.log(upper / lower)
        }
    }

    /// Decimals that print every tick exactly (at most 3).
    var tickDecimals: Int { ticks.map(Self.decimals).max() ?? 0 }

    /// A linear axis from a little below the smallest value to a little above the largest,
    /// both ends on a tick; about five ticks, spaced 1, 2, 2.5 or 5 × 10^k. It does not
    /// cross zero when every value lies on one side of it.
    static func linear(covering values: [Double]) -> ChartAxis {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else {
            return ChartAxis(scale: .linear, lower: 0, upper: 1, ticks: [0, 0.5, 1])
        }
        // Policies that all land on one value still need a band to be drawn in.
        let span = Swift.max(hi - lo, 0.02 * Swift.max(abs(lo), abs(hi)), 1e-9)
        let step = niceStep(atLeast: span / 5)
        var lower = ((lo - 0.05 * span) / step).rounded(.down) * step
        var upper = ((hi + 0.05 * span) / step).rounded(.up) * step
        if lo >= 0 { lower = Swift.max(lower, 0) }
        if hi <= 0 { upper = Swift.min(upper, 0) }
        // At most about 8 steps by construction: the count is small and finite.
        let count = Int(((upper - lower) / step).rounded())
        let ticks = (0...count).map { lower + Double($0) * step }
        return ChartAxis(scale: .linear, lower: lower, upper: upper, ticks: ticks)
    }

    /// A logarithmic axis from `smallest / 1.15` to `largest × 1.15` (values must be
    /// positive), with ticks at round multiples of each decade: denser when the axis spans
    /// less, so that it always carries a few.
    static func logarithmic(covering values: [Double]) -> ChartAxis {
        let positive = values.filter { $0.isFinite && $0 > 0 }
        guard let lo = positive.min(), let hi = positive.max() else { return linear(covering: values) }
        let lower = lo / 1.15, upper = Swift.max(hi, lo * 1.01) * 1.15
        let decades = log10(upper / lower)
        let multiples: [Double] =
            decades < 0.8 ? [1, 1.5, 2, 3, 4, 5, 6, 7, 8]
            : decades < 1.3 ? [1, 2, 3, 5, 7]
            : decades < 2.2 ? [1, 2, 5]
            : decades < 3.2 ? [1, 3] : [1]
        var ticks: [Double] = []
        var decade = Foundation.pow(10, log10(lower).rounded(.down))
        while decade <= upper {
            for m in multiples where decade * m >= lower && decade * m <= upper { ticks.append(decade * m) }
            decade *= 10
        }
        return ChartAxis(scale: .logarithmic, lower: lower, upper: upper, ticks: ticks)
    }

    /// The axis for latencies: linear when the values lie within a factor of 3 of each other,
    /// so that equal distances read as equal milliseconds; logarithmic beyond that, where a
    /// linear axis would squeeze the fast policies against its left edge. On a log axis
    /// equal distances are equal ratios, which is how a latency is judged against its target
    /// ("twice the target").
    static func latency(covering values: [Double]) -> ChartAxis {
        let positive = values.filter { $0.isFinite && $0 > 0 }
        guard let lo = positive.min(), let hi = positive.max() else { return linear(covering: values) }
        return hi / lo > 3 ? logarithmic(covering: positive) : linear(covering: positive)
    }

    /// The smallest of 1, 2, 2.5, 5 × 10^k at or above `x` (> 0).
    static func niceStep(atLeast x: Double) -> Double {
        let decade = Foundation.pow(10, log10(x).rounded(.down))
        for m in [1.0, 2, 2.5, 5] where decade * m >= x * (1 - 1e-9) { return decade * m }
        return decade * 10
    }

    /// The fewest decimals (at most 3) that print `x` without rounding it.
    static func decimals(_ x: Double) -> Int {
        var scaled = abs(x)
        for digits in 0..<3 {
            if abs(scaled - scaled.rounded()) <= 1e-6 * Swift.max(scaled, 1) { return digits }
            scaled *= 10
        }
        return 3
    }
}
