/// Feedback on measured latency (docs/model.md, "Latency under real traffic"): an integral
/// correction of each queue's planning target from the latency measured over a window.
///
/// The planner is given `factor × target` instead of the target. With `e = ln(measured /
/// target)` over a window:
/// - `e > 0` (missed): `ln factor` falls by `gain × e` (tighten at once, in proportion), for a
///   miss within the sampling noise (`noiseMargin`) only at the `noiseWindows`-th in a row;
/// - `measured < (1 − relaxBelow) × target` (slack): `ln factor` rises by
///   `min(relaxStep, gain × |e|)` (relax slowly); below `fastRelaxBelow × target` (clear
///   slack: under half the target) by `min(fastRelaxStep, gain × |e|)`, so a factor tightened
///   during a burst comes back within minutes once the burst is over, while near the target
///   (where a relaxation could turn into a miss) it still creeps;
/// - in between, nothing moves (the dead band that keeps it from hunting).
/// Anti-windup: `factor` stays within `[minimumFactor, 1]`, and it does not tighten further
/// while the last plan could not meet the tightened target (`saturated`: the planner was
/// already at its limit, so a tighter target would only wind up the integrator).
///
/// Back-off (damping on bursty traffic): on bursty arrivals the windows between bursts sit
/// below the target and a relaxation rule alone raises the factor until the next burst misses
/// and knocks it down again, a limit cycle (a sawtooth between about 0.55 and 1 on a trace
/// modelled on Azure's conversation trace). The slack between bursts is no evidence that a
/// looser target would hold through the next one; the factor that missed is evidence that it
/// would not. So, as TCP backs off after a loss, each tightening
/// - raises a back-off level (up to `maximumBackoff`);
/// - remembers the factor that missed as a ceiling: while the level is above 0, slack relaxes
///   at most up to it, not beyond (after a single miss of an uncorrected queue that is 1, no
///   cap at all);
/// - from level 2 on (a miss while an earlier one is not yet forgotten) starts a hold of
///   `holdWindows × 2^(level − 1)` windows (1, 2, 4 minutes) in which slack relaxes nothing:
///   repeated misses wait longer. A single miss holds nothing: one window over the target is
///   what a queue planned close to it sees now and then on Poisson traffic, no limit cycle,
///   and holding its relaxation back would keep the queue planned tighter than it needs;
/// and `forgetWindows` windows in a row without a miss (5 minutes) lower the level by one;
/// at level 0 the ceiling is forgotten. Clear slack (under `fastRelaxBelow`) is no trough
/// between bursts but a drop in load or a model that became right: it ends the hold and
/// relaxes past the ceiling as before, so a factor tightened before a real drop in load comes
/// back within `⌈ln(1 / factor) / fastRelaxStep⌉` windows (3 minutes from 0.2). Slack nearer the
/// target after a drop waits until the back-off is forgotten (at most
/// `maximumBackoff × forgetWindows` windows, 20 minutes), then creeps as before.
///
/// One implementation for the simulator's `gearbox` policy and the agent.
public struct LatencyFeedback: Hashable, Sendable {
    public struct Settings: Hashable, Sendable {
        /// Fraction of the log error integrated per window.
        public var gain: Double = 0.7
        /// Relax only when the measurement is below `(1 − relaxBelow) × target`.
        public var relaxBelow: Double = 0.15
        /// Largest rise of `ln factor` per window (a window of 10 s relaxes 0.5 back to 1 in
        /// at least 35 windows).
        public var relaxStep: Double = 0.02
        /// Below this fraction of the target the slack is clear: relax by up to
        /// `fastRelaxStep` per window (0.2 back to 1 in at least 17 windows). A window this
        /// far below the target leaves room for a relaxation of `e^0.1` (10 %) to stay below
        /// it even where latency grows faster than the planning target.
        public var fastRelaxBelow: Double = 0.5
        public var fastRelaxStep: Double = 0.1
        /// A window's statistic is an estimate from a few thousand requests (a p99 from about
        /// 20 beyond it: for an exponential tail its standard error is about
        /// `1 / (√20 · ln 100)`, 5 %): a window over the target by less than `noiseMargin` (two
        /// standard errors) tightens only when the `noiseWindows − 1` windows before it were
        /// over the target too.
        /// Without this, a queue planned just inside its target tightens on noise and, since it
        /// relaxes only well below the target, ratchets its plan up for nothing.
        public var noiseMargin: Double = 0.1
        public var noiseWindows = 3
        /// Smallest planning target as a fraction of the real one.
        public var minimumFactor: Double = 0.2
        /// Shortest window, in seconds.
        public var window: Double = 10
        /// A window also waits for enough completions that its statistic means something:
        /// `samplesPerTail` requests beyond the percentile (2,000 for p99, 400 for p95),
        /// `meanSamples` for a mean (a mean of 1,000 latencies with SCV up to 2 is within
        /// about 4.5 % of the true one at one standard error, so `noiseMargin` covers two).
        public var samplesPerTail: Double = 20
        public var meanSamples: Int = 1000
        /// Back-off after a tightening (see the type's comment): the level counts tightenings
        /// up to `maximumBackoff`; slack does not relax above the factor that missed (the
        /// ceiling) while the level is above 0, and from level 2 on only
        /// `holdWindows × 2^(level − 1)` windows after the last tightening; `forgetWindows`
        /// windows in a row without a miss lower the level by one.
        public var holdWindows = 3
        public var maximumBackoff = 4
        public var forgetWindows = 30
        public init() {}

        /// Completions a window needs before its statistic of `kind` is used.
        public func minimumSamples(_ kind: LatencyKind) -> Int {
            guard let q = kind.quantile else { return meanSamples }
            return Int(saturating: (samplesPerTail / (1 - q)).rounded(.up))
        }
    }

    /// One queue's correction.
    public struct Correction: Hashable, Sendable {
        /// Planning target over the real target, in `[minimumFactor, 1]`.
        public var factor: Double = 1
        /// Times the factor moved.
        public var moves: Int = 0
        /// Smallest factor reached.
        public var smallest: Double = 1
        /// The last window's measurement over the target (nil before the first window).
        public var lastRatio: Double?
        /// Windows in a row over the target.
        public var overInARow = 0
        /// Back-off level: tightenings not yet forgotten, at most `Settings.maximumBackoff`.
        public var backoff = 0
        /// Windows of slack left before it may relax again.
        public var hold = 0
        /// The factor the last tightening started from: slack does not relax above it while
        /// `backoff` is above 0.
        public var ceiling: Double = 1
        /// Windows in a row without a miss (towards forgetting one back-off level).
        public var missFree = 0
        public init() {}
    }

    public var settings: Settings
    public private(set) var corrections: [String: Correction] = [:]

    public init(settings: Settings = .init()) { self.settings = settings }

    /// The factor applied to queue `name`'s target (1 when it never moved).
    public func factor(_ name: String) -> Double { corrections[name]?.factor ?? 1 }

    /// Folds in one window of queue `name`: its measured statistic and target (seconds, of the
    /// target's kind), and whether the last plan failed to meet the tightened target.
    /// Returns the new factor when it moved, nil when it did not.
    @discardableResult
    public mutating func observe(_ name: String, measured: Double, target: Double, saturated: Bool) -> Double? {
        guard measured.isFinite, measured >= 0, target.isFinite, target > 0 else { return nil }
        var c = corrections[name] ?? Correction()
        let ratio = max(measured / target, 1e-6)
        c.lastRatio = ratio
        c.overInARow = ratio > 1 ? c.overInARow + 1 : 0
        let error = Math.log(ratio)
        var logFactor = Math.log(c.factor)
        if error > 0 {
            c.missFree = 0
            let beyondNoise = ratio > 1 + settings.noiseMargin || c.overInARow >= settings.noiseWindows
            if !saturated && beyondNoise {
                logFactor -= settings.gain * error
                c.ceiling = c.factor
                c.backoff = min(settings.maximumBackoff, c.backoff + 1)
                c.hold = c.backoff > 1 ? settings.holdWindows << (c.backoff - 1) : 0
            }
        } else {
            c.missFree += 1
            if c.missFree >= settings.forgetWindows, c.backoff > 0 {
                c.backoff -= 1
                c.missFree = 0
                if c.backoff == 0 { c.ceiling = 1 }
            }
            if ratio < settings.fastRelaxBelow {
                // Clear slack is no trough between bursts: the load or the model changed.
                c.hold = 0
                logFactor += min(settings.fastRelaxStep, settings.gain * -error)
            } else if c.hold > 0 {
                c.hold -= 1
            } else if ratio < 1 - settings.relaxBelow {
                let room = c.backoff > 0 ? max(0, Math.log(c.ceiling) - logFactor) : .infinity
                logFactor += min(settings.relaxStep, settings.gain * -error, room)
            }
        }
        let bounded = min(1, max(settings.minimumFactor, Math.exp(logFactor)))
        let moved = abs(bounded - c.factor) > 1e-9
        if moved {
            c.factor = bounded
            c.moves += 1
            c.smallest = min(c.smallest, bounded)
        }
        corrections[name] = c
        return moved ? bounded : nil
    }

    /// Whether some queue's factor moved by more than `fraction` from the factor `plan` was
    /// made with: re-plan then (smaller moves wait, as estimate moves inside the band do).
    public func movedBeyond(_ fraction: Double, since plan: Plan?) -> Bool {
        guard let plan else { return !corrections.isEmpty }
        return corrections.contains { name, c in
            let planned = plan.queues.first { $0.name == name }?.planningFactor ?? 1
            return abs(c.factor / planned - 1) > fraction
        }
    }

    /// `workload` with each queue's target multiplied by its factor.
    public func planningWorkload(_ workload: Workload) -> Workload {
        var w = workload
        for q in w.queues.indices { w.queues[q].target.seconds *= factor(w.queues[q].name) }
        return w
    }

    /// Forgets queues no longer in `names` (a reload removed them).
    public mutating func keep(only names: Set<String>) {
        corrections = corrections.filter { names.contains($0.key) }
    }
}

extension Plan {
    /// Reports the plan against `workload`'s targets (the real ones, where the plan was made for
    /// targets corrected by feedback: `PlanCorrections` recorded each queue's planning factor),
    /// matched by queue name; predictions stay as they are.
    public mutating func reportAgainst(_ workload: Workload) {
        for q in queues.indices {
            if let real = workload.queues.first(where: { $0.name == queues[q].name }) { queues[q].target = real.target }
        }
    }
}
