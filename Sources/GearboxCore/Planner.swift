/// Settings of the planner (MODEL.md, "The optimisation").
public struct PlannerConfiguration: Hashable, Sendable {
    /// Upper bound on every CPU's utilisation ρ.
    public var maxUtilization: Double = 0.95
    /// Route shares below this are rounded to 0 (MODEL.md: a share below 1 % is 0).
    public var minimumShare: Double = 0.01
    /// Upper bound on the dither period τ, in seconds.
    public var maxDitherPeriod: Double = 0.050
    /// Lower bound on the dither period τ, in seconds, before the transition-latency floor.
    public var minDitherPeriod: Double = 0.001
    /// τ is at most this many times the shortest mean service time on the domain.
    public var ditherServiceMultiple: Double = 5
    /// τ is at least this many times the domain's transition latency.
    public var ditherTransitionMultiple: Double = 10
    /// Inflation of fork-join k < n predictions (MODEL.md: independence under-estimates
    /// 1-of-2 by about 13 % and 1-of-3 by about 20 % in simulation; 25 % covers both).
    public var forkJoinMargin: Double = 0.25
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
    public init() {}
}

/// Minimises host power subject to every queue's latency target (MODEL.md, "The optimisation").
///
/// Per domain it picks two adjacent hull points and the probability of the faster one
/// (a continuous level), per route queue the share of each CPU, per fork-join queue the
/// work fractions (k = n) or the CPUs that take the parts (k < n). Deterministic: the
/// same input gives the same plan, bit for bit.
public struct Planner: Sendable {
    public var configuration: PlannerConfiguration
    public init(configuration: PlannerConfiguration = .init()) { self.configuration = configuration }

    /// The cheapest plan that meets every target; when none exists, the top-speed plan with
    /// the best split found, `feasible: false` and the latency it reaches.
    public func plan(platform: Platform, workload: Workload) -> Plan {
        let model = PlanningModel(platform: platform, workload: workload, configuration: configuration)
        var layout = Layout(model: model)
        var feasible = true
        // Parts of the host that share no queue are planned one by one.
        for part in model.parts() {
            let merge = part.domains.count > configuration.mergeAbove && part.queues.allSatisfy { model.queues[$0].isRoute }
            var restriction = model.restricted(to: part, merge: merge)
            var reasons = [String?](repeating: nil, count: restriction.model.domains.count)
            var outcome = search(model: restriction.model)
            // Domains whose dither period bounds cross run one pure speed; re-plan until none is left.
            for _ in restriction.model.domains.indices where outcome.feasible {
                let fallbacks = ditherFallbacks(outcome.state)
                guard !fallbacks.isEmpty else { break }
                for (d, reason) in fallbacks {
                    restriction.model.domains[d].pureOnly = true
                    reasons[d] = reason
                }
                outcome = search(model: restriction.model)
            }
            layout.record(outcome.state, restriction: restriction, reasons: reasons, planner: self)
            feasible = feasible && outcome.feasible
        }
        if !feasible {
            // MODEL.md: an infeasible plan runs every domain a queue may use at top speed.
            for part in model.parts() {
                for d in part.domains {
                    layout.times[d] = model.domains[d].fastest
                    layout.ditherPeriods[d] = nil
                }
            }
        }
        return render(layout, feasible: feasible, platform: platform, workload: workload)
    }

    /// The best state: refined grid plans for small route instances, else a local search
    /// from several starting splits.
    func search(model: PlanningModel) -> (state: PlanState, feasible: Bool) {
        var best: PlanState?
        var closest: PlanState?
        let grid = GridSearch(model: model, steps: configuration.gridSteps, maxEvaluations: configuration.gridEvaluations,
                              maxSplits: configuration.gridSplits).run(count: model.queues.count > 1 ? 2 : 1)
        if let grid {
            for solution in grid {
                var state = PlanState(model: model, time: solution.time, entryShares: solution.shares)
                guard state.isFeasible || state.chooseLevels() else { continue }
                for d in state.busyDomains { state.relax(d) }
                state.tradeSlack(state.busyDomains)
                state.commit()
                state.arrangeWhenSettling = false
                state.improveSplit(feasibleSearch: true, amounts: PlanState.fineSteps, rounds: 3)
                state.arrangeWhenSettling = true
                if best == nil || state.power < best!.power - 1e-12 * best!.power { best = state }
            }
        } else {
            // Coarse search from every start; the fine search only from the cheapest.
            for start in starts(model: model) {
                var state = PlanState(model: model, time: model.domains.map(\.fastest)) { start.shares[$0][$1] }
                var feasible = state.chooseLevels()
                if !feasible {
                    state.improveSplit(feasibleSearch: false, amounts: PlanState.coarseSteps + PlanState.fineSteps)
                    state.improveMembership(feasibleSearch: false)
                    feasible = state.chooseLevels()
                }
                if feasible {
                    state.improveSplit(feasibleSearch: true, amounts: PlanState.coarseSteps)
                    if best == nil || state.power < best!.power - 1e-12 * best!.power { best = state }
                } else if closest == nil || state.violation < closest!.violation {
                    closest = state
                }
            }
            if var state = best {
                state = perturbArrangements(state)
                state.improveSplit(feasibleSearch: true, amounts: PlanState.fineSteps)
                best = state
            }
        }
        if var state = best, model.domains.reduce(0, { $0 + $1.multiplicity }) <= configuration.snapDomains {
            state.arrangeWhenSettling = false
            state = snapToVertices(state)
            state.arrangeWhenSettling = true
            best = state
        }
        if var state = best {
            state.improveMembership(feasibleSearch: true)
            if state.dropSmallShares() { return (state, true) }
            closest = state
        }
        if closest == nil {
            // No grid plan is feasible: the best split at top speed.
            let start = SplitStart.proportional(model: model)
            var state = PlanState(model: model, time: model.domains.map(\.fastest)) { start.shares[$0][$1] }
            _ = state.chooseLevels()
            state.improveSplit(feasibleSearch: false, amounts: PlanState.coarseSteps + PlanState.fineSteps)
            if state.chooseLevels() {
                state.improveSplit(feasibleSearch: true, amounts: PlanState.coarseSteps + PlanState.fineSteps)
                if state.dropSmallShares() { return (state, true) }
            }
            closest = state
        }
        var state = closest!
        _ = state.dropSmallShares()
        // Every domain a queue may use runs at top speed.
        for d in model.domains.indices {
            state.setTime(d, state.domainQueues[d].isEmpty ? model.domains[d].slowest : model.domains[d].fastest)
        }
        state.commit()
        return (state, false)
    }

    /// Host power is linear in each domain's level inside a hull segment, so the optimum
    /// often has domains exactly on vertices, a point the share and level moves approach
    /// only from one side. For each domain that mixes, pin it to each neighbouring vertex,
    /// let the shares follow, and keep what is cheaper.
    func snapToVertices(_ state: PlanState) -> PlanState {
        var best = state
        for d in state.busyDomains where best.isMixing(d) && best.isCoupled(d) {
            for vertex in best.neighbouringVertices(d) {
                var trial = best
                trial.setTime(d, vertex)
                trial.commit()
                trial.locked[d] = true
                if !trial.isFeasible {
                    // Faster is always feasible here; slower needs slack from elsewhere.
                    guard trial.chooseLevels() else { continue }
                }
                trial.improveSplit(feasibleSearch: true, amounts: PlanState.snapSteps, rounds: 2)
                trial.locked[d] = false
                for e in trial.busyDomains { trial.relax(e) }
                trial.commit()
                if trial.isFeasible && trial.power < best.power - 1e-9 * best.power { best = trial }
            }
        }
        return best
    }

    /// From the best coarse plan, forces each other arrangement on each domain that two
    /// queues share, re-runs the coarse search, and keeps what is cheaper: the share that
    /// suits an arrangement only follows once the arrangement is in place.
    func perturbArrangements(_ state: PlanState) -> PlanState {
        var best = state
        for d in state.model.domains.indices where state.routeQueues(onDomain: d).count > 1 {
            for changes in state.arrangements(domain: d) {
                var trial = best
                trial.setShares(changes)
                trial.commit()
                guard trial.chooseLevels() else { continue }
                trial.improveSplit(feasibleSearch: true, amounts: PlanState.coarseSteps, rounds: 2)
                if trial.power < best.power - 1e-9 * best.power { best = trial }
            }
        }
        return best
    }

    /// The starting splits: proportional and segregated, plus the two cheapest of the
    /// presence combinations after a quick screening (levels and arrangements only).
    func starts(model: PlanningModel) -> [SplitStart] {
        var out = SplitStart.all(model: model)
        guard let presence = SplitStart.presence(model: model, limit: configuration.screeningLimit) else { return out }
        var scored: [(power: Double, index: Int)] = []
        for (index, start) in presence.enumerated() {
            var state = PlanState(model: model, time: model.domains.map(\.fastest)) { start.shares[$0][$1] }
            if !state.chooseLevels() {
                // A quick repair at top speed: coarse share moves against the violation.
                state.improveSplit(feasibleSearch: false, amounts: PlanState.coarseSteps, rounds: 2)
                guard state.chooseLevels() else { continue }
            }
            state.improveArrangements(feasibleSearch: true)
            scored.append((state.power, index))
        }
        scored.sort { ($0.power, $0.index) < ($1.power, $1.index) }
        for (_, index) in scored.prefix(2) where !out.contains(where: { $0.shares == presence[index].shares }) {
            out.append(presence[index])
        }
        return out
    }

    /// Domains that mix two speeds but whose dither period cannot be both at most
    /// `min(maxDitherPeriod, 5 × shortest mean service)` and at least `max(1 ms, 10 × transition latency)`.
    func ditherFallbacks(_ state: PlanState) -> [(Int, String)] {
        var out: [(Int, String)] = []
        for d in state.model.domains.indices where !state.model.domains[d].pureOnly {
            let mix = state.model.mix(domain: d, time: state.time[d])
            guard mix.pHigh > 0 && mix.pHigh < 1 else { continue }
            let bounds = ditherBounds(state, domain: d)
            if bounds.cap < bounds.floor {
                let reason = "dither period bounds cross: at most \(milliseconds(bounds.cap)) ms "
                    + "(\(configuration.ditherServiceMultiple)× shortest mean service time) but at least "
                    + "\(milliseconds(bounds.floor)) ms (transition latency); running one pure speed"
                out.append((d, reason))
            }
        }
        return out
    }

    /// The dither period's upper bound (cap) and lower bound (floor) for domain `d`.
    func ditherBounds(_ state: PlanState, domain d: Int) -> (cap: Double, floor: Double) {
        let t = state.model.mix(domain: d, time: state.time[d]).timePerWork
        var shortest = Double.infinity
        for i in state.model.domains[d].cpus {
            for e in state.cpuEntries[i] {
                let l = state.load(e)
                if l.rate > 0 && l.work > 0 { shortest = min(shortest, l.work * t) }
            }
        }
        let cap = min(configuration.maxDitherPeriod, configuration.ditherServiceMultiple * shortest)
        var floor = configuration.minDitherPeriod
        // 0 and CPUFREQ_ETERNAL (4294967295 ns) mean unknown: the 1 ms floor alone.
        if let latency = state.model.domains[d].transitionLatency, latency > 0, latency < 4.29 {
            floor = max(floor, configuration.ditherTransitionMultiple * latency)
        }
        return (cap, floor)
    }

    func milliseconds(_ seconds: Double) -> Double { (seconds * 1e6).rounded() / 1000 }
}
