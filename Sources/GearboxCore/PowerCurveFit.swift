/// Fits domains' busy-power curves to energy counters (docs/model.md, "Learning the machine's
/// power curve"). Pure: it sees intervals of measured energy and the busy CPU-seconds each class
/// of domains spent at each frequency, never a file.
///
/// Over one interval `j` of `Δ_j` seconds an energy zone (a RAPL package) measured `E_j` joules.
/// Each class `c` of identical domains in the zone was busy `B_{c,f,j}` CPU-seconds at frequency
/// ratio `r_f = f / fmax`. The model is
///
///     E_j = b Δ_j + Σ_c Σ_f B_{c,f,j} (a_c + k_c r_f^e)
///
/// with `b` the zone's power with every CPU idle (idle CPUs and everything else in the package:
/// the two cannot be told apart), `a_c` the busy power above idle that does not depend on the
/// frequency and `k_c` the part that grows as `r^e`, per CPU. For a fixed exponent the model is
/// linear in `(b, a_c, k_c)`, all ≥ 0 (non-negative least squares); the exponent is searched in
/// [1, 4] and shared by the classes of a zone. Every curve it gives is therefore non-negative,
/// rising and convex in the frequency.
public enum PowerCurveFit {
    /// Busy CPU-seconds at one frequency ratio.
    public struct BusyTime: Hashable, Sendable {
        /// f / fmax, in (0, 1].
        public var ratio: Double
        public var seconds: Double
        public init(ratio: Double, seconds: Double) {
            self.ratio = ratio
            self.seconds = seconds
        }
    }

    /// One interval of one zone.
    public struct Observation: Hashable, Sendable {
        public var duration: Double
        public var joules: Double
        /// Per class (same order as the fit's classes): busy time at each frequency.
        public var busy: [[BusyTime]]
        public init(duration: Double, joules: Double, busy: [[BusyTime]]) {
            self.duration = duration
            self.joules = joules
            self.busy = busy
        }
    }

    /// One class's learned curve: busy power per CPU above idle, `aboveIdle + dynamic r^exponent`.
    public struct Curve: Hashable, Sendable {
        public var aboveIdle: Double
        public var dynamic: Double
        public var exponent: Double
        /// One standard error of the fitted curve at the lowest and the highest frequency seen,
        /// relative to the curve there (the larger of the two).
        public var relativeError: Double
        /// Distinct frequencies with at least 2 % of the class's busy time.
        public var frequenciesSeen: Int
        public init(aboveIdle: Double, dynamic: Double, exponent: Double, relativeError: Double, frequenciesSeen: Int) {
            self.aboveIdle = aboveIdle
            self.dynamic = dynamic
            self.exponent = exponent
            self.relativeError = relativeError
            self.frequenciesSeen = frequenciesSeen
        }

        /// Busy watts above idle at frequency ratio `r`.
        public func watts(ratio r: Double) -> Double { aboveIdle + dynamic * Math.pow(r, exponent) }
    }

    /// The fit of one zone.
    public struct Result: Hashable, Sendable {
        /// Watts of the zone with every CPU idle.
        public var idleWatts: Double
        public var curves: [Curve]
        /// Fraction of the variance of the intervals' mean power that the model explains.
        public var rSquared: Double
        /// Root mean square of the intervals' power error, relative to the mean power.
        public var relativeRMSError: Double
        public var observations: Int
        /// Whether the exponent was fitted (at least three frequencies seen) or held at `fixedExponent`.
        public var exponentFitted: Bool
    }

    public static let exponentRange = 1.0...4.0

    /// Fits the observations. `fixedExponent` is used when fewer than three frequencies carry
    /// busy time (the exponent is then not identified). Nil when there are fewer observations
    /// than unknowns or nothing was busy.
    public static func fit(_ observations: [Observation], classes: Int, fixedExponent: Double = 3) -> Result? {
        let usable = observations.filter { o in
            o.duration.isFinite && o.duration > 0 && o.joules.isFinite && o.joules >= 0 && o.busy.count == classes
                && o.busy.allSatisfy { $0.allSatisfy { $0.ratio.isFinite && $0.ratio > 0 && $0.ratio <= 1 && $0.seconds.isFinite && $0.seconds >= 0 } }
        }
        let unknowns = 1 + 2 * classes
        guard classes > 0, usable.count > unknowns + 1 else { return nil }
        let seen = (0..<classes).map { frequenciesSeen(usable, cls: $0) }
        guard seen.allSatisfy({ $0 > 0 }) else { return nil }
        let fitExponent = seen.allSatisfy { $0 >= 3 }
        var best: (exponent: Double, residual: Double)
        if fitExponent {
            best = searchExponent(usable, classes: classes)
        } else {
            let e = min(exponentRange.upperBound, max(exponentRange.lowerBound, fixedExponent))
            best = (e, solve(usable, classes: classes, exponent: e).residual)
        }
        let solution = solve(usable, classes: classes, exponent: best.exponent)
        let errors = curveErrors(usable, classes: classes, exponent: best.exponent, solution: solution.x)
        var curves: [Curve] = []
        for c in 0..<classes {
            curves.append(Curve(aboveIdle: solution.x[1 + 2 * c], dynamic: solution.x[2 + 2 * c], exponent: best.exponent,
                                relativeError: errors[c], frequenciesSeen: seen[c]))
        }
        let powers = usable.map { $0.joules / $0.duration }
        let mean = powers.reduce(0, +) / Double(powers.count)
        var residual = 0.0, total = 0.0
        for (j, o) in usable.enumerated() {
            let predicted = predict(o, idle: solution.x[0], curves: curves)
            residual += (powers[j] - predicted / o.duration) * (powers[j] - predicted / o.duration)
            total += (powers[j] - mean) * (powers[j] - mean)
        }
        let rms = (residual / Double(usable.count)).squareRoot()
        return Result(idleWatts: solution.x[0], curves: curves,
                      rSquared: total > 0 ? max(0, 1 - residual / total) : (residual == 0 ? 1 : 0),
                      relativeRMSError: mean > 0 ? rms / mean : .infinity,
                      observations: usable.count, exponentFitted: fitExponent)
    }

    /// Joules the fitted model gives for an observation.
    public static func predict(_ o: Observation, idle: Double, curves: [Curve]) -> Double {
        var joules = idle * o.duration
        for (c, times) in o.busy.enumerated() where c < curves.count {
            for t in times { joules += t.seconds * curves[c].watts(ratio: t.ratio) }
        }
        return joules
    }

    static func frequenciesSeen(_ observations: [Observation], cls: Int) -> Int {
        var byRatio: [Double: Double] = [:]
        for o in observations {
            for t in o.busy[cls] { byRatio[(t.ratio * 1e6).rounded() / 1e6, default: 0] += t.seconds }
        }
        let total = byRatio.values.reduce(0, +)
        guard total > 0 else { return 0 }
        return byRatio.values.filter { $0 >= 0.02 * total }.count
    }

    /// Golden-section search of the exponent after a coarse scan (the residual is smooth in it).
    static func searchExponent(_ observations: [Observation], classes: Int) -> (exponent: Double, residual: Double) {
        let step = 0.1
        var best = (exponent: exponentRange.lowerBound, residual: Double.infinity)
        var e = exponentRange.lowerBound
        for k in 0...Int(((exponentRange.upperBound - exponentRange.lowerBound) / step).rounded()) {
            e = min(exponentRange.upperBound, exponentRange.lowerBound + Double(k) * step)
            let r = solve(observations, classes: classes, exponent: e).residual
            if r < best.residual { best = (e, r) }
        }
        var lo = max(exponentRange.lowerBound, best.exponent - step), hi = min(exponentRange.upperBound, best.exponent + step)
        let golden = (5.0.squareRoot() - 1) / 2
        var x1 = hi - golden * (hi - lo), x2 = lo + golden * (hi - lo)
        var f1 = solve(observations, classes: classes, exponent: x1).residual
        var f2 = solve(observations, classes: classes, exponent: x2).residual
        for _ in 0..<40 where hi - lo > 1e-5 {
            if f1 <= f2 {
                hi = x2; x2 = x1; f2 = f1
                x1 = hi - golden * (hi - lo)
                f1 = solve(observations, classes: classes, exponent: x1).residual
            } else {
                lo = x1; x1 = x2; f1 = f2
                x2 = lo + golden * (hi - lo)
                f2 = solve(observations, classes: classes, exponent: x2).residual
            }
        }
        let mid = (lo + hi) / 2
        let r = solve(observations, classes: classes, exponent: mid).residual
        return r <= best.residual ? (mid, r) : best
    }

    /// The weighted design row of an observation: columns (Δ, B_c, Σ B_{c,f} r^e per class),
    /// scaled by 1/√Δ (an interval's noise grows with its length).
    static func row(_ o: Observation, classes: Int, exponent: Double) -> (x: [Double], y: Double) {
        let w = 1 / o.duration.squareRoot()
        var x = [Double](repeating: 0, count: 1 + 2 * classes)
        x[0] = o.duration * w
        for c in 0..<classes {
            for t in o.busy[c] {
                x[1 + 2 * c] += t.seconds * w
                x[2 + 2 * c] += t.seconds * Math.pow(t.ratio, exponent) * w
            }
        }
        return (x, o.joules * w)
    }

    static func normalEquations(_ observations: [Observation], classes: Int, exponent: Double) -> (a: [[Double]], b: [Double], yy: Double) {
        let n = 1 + 2 * classes
        var a = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        var b = [Double](repeating: 0, count: n)
        var yy = 0.0
        for o in observations {
            let (x, y) = row(o, classes: classes, exponent: exponent)
            for i in 0..<n {
                b[i] += x[i] * y
                for k in 0..<n { a[i][k] += x[i] * x[k] }
            }
            yy += y * y
        }
        return (a, b, yy)
    }

    /// Non-negative least squares on the normal equations (Lawson–Hanson active set).
    static func solve(_ observations: [Observation], classes: Int, exponent: Double) -> (x: [Double], residual: Double) {
        let (a, b, yy) = normalEquations(observations, classes: classes, exponent: exponent)
        let x = nonNegativeLeastSquares(a: a, b: b)
        // ‖y − Xx‖² = yᵀy − 2 xᵀXᵀy + xᵀXᵀXx
        var residual = yy
        for i in x.indices {
            residual -= 2 * x[i] * b[i]
            for k in x.indices { residual += x[i] * a[i][k] * x[k] }
        }
        return (x, max(0, residual))
    }

    /// Minimises ‖y − Xx‖² over x ≥ 0 given XᵀX and Xᵀy.
    static func nonNegativeLeastSquares(a: [[Double]], b: [Double]) -> [Double] {
        let n = b.count
        var x = [Double](repeating: 0, count: n)
        var passive = [Bool](repeating: false, count: n)
        let scale = max(1e-300, (0..<n).map { abs(a[$0][$0]) }.max() ?? 1)
        for _ in 0..<(3 * n + 3) {
            // Gradient of −½‖·‖²: w = Xᵀy − XᵀX x.
            var w = b
            for i in 0..<n { for k in 0..<n { w[i] -= a[i][k] * x[k] } }
            var entering = -1, largest = 1e-12 * scale * max(1, x.map(abs).max() ?? 1)
            for i in 0..<n where !passive[i] && w[i] > largest { entering = i; largest = w[i] }
            guard entering >= 0 else { break }
            passive[entering] = true
            for _ in 0..<(2 * n + 2) {
                let z = solvePassive(a: a, b: b, passive: passive)
                if (0..<n).allSatisfy({ !passive[$0] || z[$0] > 0 }) {
                    x = z
                    break
                }
                // Step towards z until the first passive variable reaches zero.
                var alpha = 1.0
                for i in 0..<n where passive[i] && z[i] <= 0 {
                    let denominator = x[i] - z[i]
                    if denominator > 0 { alpha = min(alpha, x[i] / denominator) }
                }
                for i in 0..<n { x[i] += alpha * (z[i] - x[i]) }
                for i in 0..<n where passive[i] && x[i] <= 1e-15 * max(1, abs(z[i])) {
                    passive[i] = false
                    x[i] = 0
                }
            }
        }
        return x.map { max(0, $0) }
    }

    /// Least squares restricted to the passive variables (the others held at 0).
    static func solvePassive(a: [[Double]], b: [Double], passive: [Bool]) -> [Double] {
        let index = passive.indices.filter { passive[$0] }
        let m = index.count
        var matrix = index.map { i in index.map { a[i][$0] } }
        var rhs = index.map { b[$0] }
        // A tiny ridge keeps a collinear system solvable; it is far below any real column's scale.
        for i in 0..<m { matrix[i][i] += 1e-12 * max(matrix[i][i], 1e-300) }
        let solution = gaussianSolve(&matrix, &rhs) ?? [Double](repeating: 0, count: m)
        var z = [Double](repeating: 0, count: b.count)
        for (k, i) in index.enumerated() { z[i] = solution[k] }
        return z
    }

    /// Solves `m x = rhs` by Gaussian elimination with partial pivoting; nil when singular.
    static func gaussianSolve(_ m: inout [[Double]], _ rhs: inout [Double]) -> [Double]? {
        let n = rhs.count
        for col in 0..<n {
            var pivot = col
            for r in col..<n where abs(m[r][col]) > abs(m[pivot][col]) { pivot = r }
            guard abs(m[pivot][col]) > 0, m[pivot][col].isFinite else { return nil }
            if pivot != col { m.swapAt(pivot, col); rhs.swapAt(pivot, col) }
            for r in (col + 1)..<n {
                let factor = m[r][col] / m[col][col]
                if factor == 0 { continue }
                for k in col..<n { m[r][k] -= factor * m[col][k] }
                rhs[r] -= factor * rhs[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = rhs[r]
            for k in (r + 1)..<n { s -= m[r][k] * x[k] }
            x[r] = s / m[r][r]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }

    /// Each class's curve standard error (at fixed exponent) at its lowest and highest ratio seen,
    /// relative to the curve there; infinity when the data cannot separate the class's terms.
    static func curveErrors(_ observations: [Observation], classes: Int, exponent: Double, solution: [Double]) -> [Double] {
        let (a, _, _) = normalEquations(observations, classes: classes, exponent: exponent)
        let n = 1 + 2 * classes
        var residual = 0.0
        for o in observations {
            let (x, y) = row(o, classes: classes, exponent: exponent)
            var predicted = 0.0
            for i in 0..<n { predicted += x[i] * solution[i] }
            residual += (y - predicted) * (y - predicted)
        }
        let dof = max(1, observations.count - n)
        let variance = residual / Double(dof)
        guard let inverse = invert(a) else { return [Double](repeating: .infinity, count: classes) }
        return (0..<classes).map { c in
            let ratios = observations.flatMap { $0.busy[c].filter { $0.seconds > 0 }.map(\.ratio) }
            guard let lowest = ratios.min(), let highest = ratios.max() else { return .infinity }
            var worst = 0.0
            for r in [lowest, highest] {
                // Gradient of a + k r^e with respect to (a, k).
                let g = (1 + 2 * c, 2 + 2 * c, Math.pow(r, exponent))
                let v = variance * (inverse[g.0][g.0] + 2 * g.2 * inverse[g.0][g.1] + g.2 * g.2 * inverse[g.1][g.1])
                let curve = solution[g.0] + solution[g.1] * g.2
                guard curve > 0, v.isFinite else { return .infinity }
                worst = max(worst, max(0, v).squareRoot() / curve)
            }
            return worst
        }
    }

    static func invert(_ a: [[Double]]) -> [[Double]]? {
        let n = a.count
        var columns: [[Double]] = []
        for i in 0..<n {
            var m = a
            var e = [Double](repeating: 0, count: n)
            e[i] = 1
            guard let column = gaussianSolve(&m, &e) else { return nil }
            columns.append(column)
        }
        return (0..<n).map { r in (0..<n).map { columns[$0][r] } }
    }
}
