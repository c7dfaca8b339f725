/// How much a fork-join k < n prediction is inflated to cover the independence
/// approximation's optimism (docs/model.md, "Fork-join latency").
///
/// The subtasks of one request arrive together, so the sojourn times on the n CPUs are
/// positively associated and the k-th fastest is slower than independence predicts: the
/// more so the smaller k is against n, the further out in the tail, and the higher the
/// load (bursts are shared by all n queues). Measured with the simulator on identical
/// M/M/1 CPUs (6 replications of 300,000 requests at ρ = 0.92 for every 1 ≤ k < n ≤ 8,
/// and the load shape at ρ = 0.1 … 0.92 for n ≤ 4): mean optimism runs from −8 % (7-of-8,
/// where independence is pessimistic) to +103 % (1-of-8), p99 from +20 % to +162 %.
///
/// The margin is the fit `max(0, a (n−k)^b k^(−c) − d)` at saturation, chosen to lie at
/// least 2 points above every measured value, times a load shape
/// `(1 − e^(−ρ/0.4)) / (1 − e^(−0.92/0.4))` that lies above every measured ratio at lower load.
/// Beyond n = 8 it is an extrapolation. `Tests/GearboxSimulatorTests/ForkJoinMarginTests`
/// checks it against fresh simulations; `ForkJoinCalibration` (GEARBOX_CALIBRATE=1)
/// re-measures the grid.
public enum ForkJoinMargin {
    /// The margin (a fraction) for a `needed`-of-`parts` queue with target `kind` whose
    /// busiest subtask CPU runs at utilisation `utilization`; 0 when `needed >= parts`.
    public static func margin(kind: LatencyKind, needed k: Int, parts n: Int, utilization: Double) -> Double {
        guard k >= 1, k < n else { return 0 }
        let (a, b, c, d) = coefficients(kind)
        let saturated = max(0, a * Math.pow(Double(n - k), b) * Math.pow(Double(k), -c) - d)
        return saturated * loadShape(utilization)
    }

    /// Fit coefficients (a, b, c, d) per target kind.
    static func coefficients(_ kind: LatencyKind) -> (Double, Double, Double, Double) {
        switch kind {
        case .mean: (0.50, 0.50, 0.50, 0.24)
        case .p95: (0.37, 0.70, 0.25, 0.04)
        case .p99: (0.39, 0.75, 0.15, 0.02)
        }
    }

    /// 1 at ρ = 0.92 (where the saturation values were measured), less at lower load.
    static func loadShape(_ utilization: Double) -> Double {
        let rho = min(max(utilization, 0), 1)
        return (1 - Math.exp(-rho / 0.4)) / (1 - Math.exp(-0.92 / 0.4))
    }
}
