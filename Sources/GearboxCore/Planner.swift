/// Settings of the planner (docs/model.md, "The optimisation").
public struct PlannerConfiguration: Hashable, Sendable {
    /// Upper bound on every CPU's utilisation ρ.
    public var maxUtilization: Double = 0.95
    /// Route shares below this are rounded to 0 (docs/model.md: a share below 1 % is 0).
    public var minimumShare: Double = 0.01
    /// Upper bound on the dither period τ, in seconds.
    public var maxDitherPeriod: Double = 0.050
    /// Lower bound on the dither period τ, in seconds, before the transition-latency floor.
    public var minDitherPeriod: Double = 0.001
    /// τ is at most this many times the shortest mean service time on the domain.
    public var ditherServiceMultiple: Double = 5
    /// τ is at least this many times the domain's transition latency.
    public var ditherTransitionMultiple: Double = 10
    /// The price of a frequency switch: a domain mixes two speeds only where the mix saves
    /// more than switching at its period costs (docs/model.md, "The cost of actuation").
    public var actuation = ActuationCost()
    /// The most frequency switches per second the host's two-speed mixes may make together;
    /// nil: no cap, the switching price alone decides (`Planner.withinSwitchBudget`).
    public var maxSwitchRate: Double?
    /// Percentile targets of route queues are judged by the exact M/G/1 response tail
    /// (`PollaczekKhinchineTail`) instead of the guarded Cramér–Lundberg approximation,
    /// which the search still uses; see `Planner.plan(platform:workload:)`.
    public var exactPercentileTails: Bool = true
    /// The search itself judges route percentiles by the exact tail (two to three times
    /// slower; the planner uses it where re-aiming the approximation did not settle).
    var searchWithExactTails = false
    /// Parts with one route queue use `SingleQueueSolver` where it applies (tests turn it off
    /// to compare it with the general search).
    var singleQueueSolver = true
    /// Multiplies the measured fork-join k < n margin (`ForkJoinMargin`, which depends on
    /// k, n, the target's kind and the load); 1 uses it as measured, 0 trusts independence.
    public var forkJoinMarginScale: Double = 1
    /// The most combinations of "which shared domains each queue keeps to" that the planner
    /// screens as starting points (more than this: proportional and segregated starts only).
    public var screeningLimit: Int = 64
    /// Small route instances are first searched on a grid of shares in steps of 1/gridSteps
    /// (hull vertices and midpoints for levels), when the tables take at most gridEvaluations
    /// CPU evaluations and the queues have at most gridSplits grid splits together.
    public var gridSteps: Int = 6
    public var gridEvaluations: Int = 20_000
    public var gridSplits: Int = 2_000
    /// Hosts with at most this many domains get the vertex-pinning refinement.
    public var snapDomains: Int = 4
    /// Parts of the host with more domains than this plan identical domains as one.
    public var mergeAbove: Int = 3
    /// CPUs of one domain that several route queues share are planned one by one up to this
    /// many, beyond it as at most this many classes of halving size (`PlanningModel.cpuClasses`).
    public var cpuClassLimit: Int = 8
    /// CPU evaluations each search start may spend on improvement moves: bounds the plan
    /// time of large, heavily shared hosts (about 1 to 5 µs each in a release build).
    public var searchBudget: Int = 40_000
    /// How confined queues are judged (docs/model.md, "Pools").
    public var poolModel: PoolModel = .perCPU
    public init() {}
}

/// Minimises host power subject to every queue's latency target (docs/model.md, "The optimisation").
///
/// Per domain it picks two adjacent hull points and the probability of the faster one
/// (a continuous level), per route queue the share of each CPU, per fork-join queue the
/// work fractions (k = n) or the CPUs that take the parts (k < n). Deterministic: the
/// same input gives the same plan, bit for bit.
///
/// How: host power is `Σ_d W_d g_d(t_d)` plus idle power (`W_d` the domain's work, `t_d`
/// its mean time per unit of work, `g_d` convex and piecewise linear), and every latency
/// measure grows with `t_d`, so for a given split each domain's best level is its slowest
/// feasible one up to its cheapest vertex. The host splits into parts that share no queue;
/// in a part of more than `mergeAbove` domains, identical domains are planned as one (one
/// class per queue that may use them). Small route parts are searched exhaustively on a
/// coarse grid (shares in sixths, levels on vertices and midpoints; latency measures add up
/// over domains, so branch and bound combines per-domain tables); larger ones start from
/// proportional, segregated and screened splits. A local search then moves shares between
/// domains and CPUs, exchanges work between queues, re-arranges queues inside domains,
/// trades slack between domains and pins mixing domains to hull vertices, re-choosing the
/// touched levels after each move. Percentile targets are checked as `P(T > D) ≤ 1 - α`
/// during the search; the returned plan is evaluated once more by `LatencyModel`.
public struct Planner: Sendable {
    public var configuration: PlannerConfiguration
    /// The splits in force (queue name → CPU → share), when re-planning: an overloaded plan
    /// keeps the met queues off CPUs that still hold the given-up queues' work
    /// (`planForOverload`).
    public var previousSplits: [String: [Int: Double]] = [:]
    /// Part plans kept from earlier plans, so that a re-plan searches only the parts whose
    /// inputs changed (`PartPlanCache`); nil: every part is searched.
    public var partCache: PartPlanCache?
    public init(configuration: PlannerConfiguration = .init()) { self.configuration = configuration }

    /// The cheapest plan that meets every target; when none exists, the overloaded plan
    /// (`planForOverload`: the targets that can be met kept, the others given up and said
    /// why), or the top-speed plan with the best split found, `feasible: false` and the
    /// latency it reaches.
    ///
    /// The fork-join k < n margin grows with load, which the plan decides: a first pass
    /// assumes the highest allowed utilisation; when the plan runs its CPUs lighter, a
    /// second pass at that utilisation may find a cheaper plan, kept only when the
    /// independent evaluation (at the load it really has) confirms it.
    ///
    /// The search judges percentile targets of route queues by the guarded Cramér–Lundberg
    /// tail, which is fast but can be optimistic (see `PollaczekKhinchineTail`). With
    /// `exactPercentileTails` the result is judged again by the exact tail; a queue it
    /// shows missing has its searched target shortened by the ratio of the two, and the
    /// search runs again (`exactTailRounds` at most, bisecting when a round over-shortened).
    /// When that does not settle within two rounds, the search runs once more with the
    /// exact tail itself. The plan reports the exact predictions against the real targets:
    /// the cheapest that meets them, or, when none does, the infeasible top-speed plan.
    public func plan(platform: Platform, workload: Workload) -> Plan {
        plan(platform: platform, workload: workload, headroom: 0)
    }

    /// `plan(platform:workload:)` without the overload rule: the cheapest plan meeting every
    /// target, or the infeasible top-speed plan.
    func planMeetingEveryTarget(platform: Platform, workload: Workload) -> Plan {
        if workload.queues.contains(where: \.confined) { return planWithPools(platform: platform, workload: workload) }
        var searcher = self
        searcher.configuration.exactPercentileTails = false
        let checked = workload.queues.indices.filter { q in
            if case .route = workload.queues[q].dispatch { workload.queues[q].target.kind.quantile != nil } else { false }
        }
        guard configuration.exactPercentileTails, !checked.isEmpty else {
            return searcher.planForItsLoad(platform: platform, workload: workload).plan
        }
        // Per checked queue, the searched target as a fraction of the real one, between
        // `shortest` (at or below it the search found no plan) and `longest` (at or above it
        // the plan missed by the exact tail).
        var fraction = [Double](repeating: 1, count: workload.queues.count)
        var shortest = [Double](repeating: 0, count: workload.queues.count)
        var longest = [Double](repeating: .infinity, count: workload.queues.count)
        // It starts a hair short: where the two tails agree, the first round then suffices.
        for q in checked { fraction[q] = Self.aimBelow }
        var best: Plan?
        var last: Plan?
        var rounds = 0, converged = false
        for _ in 0..<Self.exactTailRounds {
            rounds += 1
            var searched = workload
            for q in checked { searched.queues[q].target.seconds *= fraction[q] }
            let rendered = searcher.planForItsLoad(platform: platform, workload: searched)
            let candidate = rendered.plan
            let exact = judgedExactly(rendered, platform: platform, workload: workload)
            last = exact
            if exact.feasible, best.map({ exact.power.value < $0.power.value }) ?? true { best = exact }
            // Not even top speed meets the targets by either tail: let the exact search decide.
            if !candidate.feasible && !exact.feasible { break }
            var settled = true
            for q in checked {
                let target = workload.queues[q].target.seconds
                let approximate = candidate.queues[q].predictedLatency, precise = exact.queues[q].predictedLatency
                var next: Double
                if !candidate.feasible {
                    // Nothing met the shortened targets: lengthen the ones that were shortened.
                    guard fraction[q] < 1 || exact.feasible else { continue }
                    shortest[q] = max(shortest[q], fraction[q])
                    next = longest[q].isFinite ? (shortest[q] * longest[q]).squareRoot() : fraction[q] * 1.25
                } else {
                    let meets = precise <= target * (1 + 1e-9)
                    if !meets { longest[q] = min(longest[q], fraction[q]) }
                    // Met, and the search did not use its target (or used it with little slack).
                    let binding = approximate >= searched.queues[q].target.seconds * 0.999
                    guard !meets || (binding && precise < target * 0.99) else { continue }
                    // Near the target the two tails differ by a nearly constant ratio: aim
                    // the approximation at the target scaled by it, inside the bracket.
                    next = approximate / precise * Self.aimBelow
                    if !next.isFinite || next <= 0 { next = fraction[q] / 2 }
                    if !(next > shortest[q] && next < longest[q]) {
                        next = longest[q].isFinite ? (max(shortest[q], fraction[q] / 4) * longest[q]).squareRoot()
                            : fraction[q] * 1.25
                    }
                }
                if abs(next - fraction[q]) > 1e-6 * fraction[q] { settled = false }
                fraction[q] = next
            }
            if settled {
                converged = best != nil
                break
            }
        }
        // Re-aiming did not settle within two rounds: the approximation is off by more than
        // a ratio, so search with the exact tail itself (two to three times slower) and keep
        // whichever plan is cheaper.
        if !converged || rounds > 2 {
            var exactSearcher = self
            exactSearcher.configuration.searchWithExactTails = true
            let exact = judgedExactly(exactSearcher.planForItsLoad(platform: platform, workload: workload),
                                      platform: platform, workload: workload)
            if exact.feasible, best.map({ exact.power.value < $0.power.value }) ?? true { best = exact }
        }
        if let best { return best }
        return judgedExactly(atTopSpeed(last!, platform: platform), platform: platform, workload: workload)
    }

    /// Searches with the approximation shortened at most this many times.
    static let exactTailRounds = 4
    /// The fraction of a target the approximation is aimed at, so as to approach from below.
    static let aimBelow = 0.999

    /// `plan` with its predictions, power and feasibility from `LatencyModel` under this
    /// planner's configuration, against `workload`'s targets (and utilisation bound).
    func judgedExactly(_ plan: Plan, platform: Platform, workload: Workload) -> Plan {
        judgedExactly(RenderedPlan(plan: plan, model: nil), platform: platform, workload: workload)
    }

    /// As `judgedExactly(_:platform:workload:)`, with the model the plan was rendered with
    /// where it can judge `workload` (it then need not be built again).
    func judgedExactly(_ rendered: RenderedPlan, platform: Platform, workload: Workload) -> Plan {
        var plan = rendered.plan
        let model = rendered.model?.judging(workload, configuration: configuration)
            ?? LatencyModel(platform: platform, workload: workload, plan: plan, configuration: configuration)
        let prediction = model.prediction
        plan.adopt(prediction)
        // The exact judgement is the authority: a plan the search made for shortened targets
        // and could not meet them with (its top-speed plan) may still meet the real ones.
        plan.feasible = prediction.feasible
        return plan
    }

    /// docs/model.md's infeasible plan: every domain a queue uses at top speed, the split kept.
    func atTopSpeed(_ plan: Plan, platform: Platform) -> Plan {
        var plan = plan
        let used = Set(plan.queues.flatMap { $0.split.filter { $0.value > 0 }.keys })
        for d in plan.domains.indices where plan.domains[d].cpus.contains(where: used.contains) {
            guard let domain = platform.domains.first(where: { $0.name == plan.domains[d].name }) else { continue }
            plan.domains[d].low = domain.maxFrequency
            plan.domains[d].high = domain.maxFrequency
            plan.domains[d].pHigh = 1
            plan.domains[d].timeShareHigh = 1
            plan.domains[d].ditherPeriod = nil
        }
        plan.feasible = false
        return plan
    }

    /// The search (with the approximate tails), at the load the plan turns out to have.
    func planForItsLoad(platform: Platform, workload: Workload) -> RenderedPlan {
        let first = plan(platform: platform, workload: workload, assumedLoad: configuration.maxUtilization)
        let coded = workload.queues.filter {
            if case .forkJoin(let n, let k) = $0.dispatch { k < n } else { false }
        }
        guard first.plan.feasible, !coded.isEmpty, configuration.forkJoinMarginScale > 0 else { return first }
        let busiest = coded.flatMap { $0.allowedCPUs(on: platform) }.reduce(0.0) { load, cpu in
            max(load, first.plan.cpus.first { $0.cpu == cpu }?.utilization ?? 0)
        }
        guard busiest < configuration.maxUtilization - 0.01 else { return first }
        let second = plan(platform: platform, workload: workload, assumedLoad: busiest)
        return second.plan.feasible && second.plan.power.value < first.plan.power.value ? second : first
    }

    /// The cheapest plan for every target shortened by `headroom` (a fraction), reported
    /// against the real targets; when no plan meets the shortened targets, the plan for
    /// the real ones. Headroom is a preference, not a requirement: near the host's limit
    /// a plan without it beats running flat out.
    public func plan(platform: Platform, workload: Workload, headroom: Double) -> Plan {
        withinSwitchBudget(planWithHeadroom(platform: platform, workload: workload, headroom: headroom),
                           platform: platform, workload: workload)
    }

    func planWithHeadroom(platform: Platform, workload: Workload, headroom: Double) -> Plan {
        if headroom > 0 {
            var shortened = workload
            for q in shortened.queues.indices { shortened.queues[q].target.seconds *= 1 - headroom }
            var plan = planMeetingEveryTarget(platform: platform, workload: shortened)
            if plan.feasible {
                for (q, queue) in workload.queues.enumerated() where q < plan.queues.count {
                    plan.queues[q].target = queue.target
                }
                return plan
            }
        }
        let plan = planMeetingEveryTarget(platform: platform, workload: workload)
        return plan.feasible ? plan : planForOverload(plan, platform: platform, workload: workload)
    }

    func plan(platform: Platform, workload: Workload, assumedLoad: Double) -> RenderedPlan {
        let model = PlanningModel(platform: platform, workload: workload, configuration: configuration, assumedLoad: assumedLoad)
        var layout = Layout(model: model)
        var feasible = true
        // Parts of the host that share no queue are planned one by one.
        for part in model.parts() {
            let merge = part.domains.count > configuration.mergeAbove && part.queues.allSatisfy { model.queues[$0].isRoute }
            let restriction = model.restricted(to: part, merge: merge)
            let planned = plannedPart(restriction)
            layout.record(planned, restriction: restriction)
            feasible = feasible && planned.feasible
        }
        if feasible {
            let rendered = render(layout, feasible: true, platform: platform, workload: workload)
            if rendered.plan.feasible { return rendered }
            // The independent evaluation disagrees (it should not, beyond rounding): never
            // hide it, report the top-speed plan as infeasible.
        }
        // docs/model.md: an infeasible plan runs every domain a queue may use at top speed.
        for part in model.parts() {
            for d in part.domains {
                layout.times[d] = model.domains[d].fastest
                layout.ditherPeriods[d] = nil
            }
        }
        return render(layout, feasible: false, platform: platform, workload: workload)
    }
}
