/// The search for one part of the host: a coarse grid for small route instances, local
/// search from several starting splits otherwise, then refinements.
extension Planner {
    /// The best state: refined grid plans for small route instances, else a local search
    /// from several starting splits.
    /// `memo`: evaluations shared with other searches of the same part (they may differ only
    /// in which domains run pure speeds, which no CPU evaluation depends on).
    func search(model: PlanningModel, memo: EvaluationMemo = EvaluationMemo()) -> (state: PlanState, feasible: Bool) {
        var best: PlanState?
        var closest: PlanState?
        let grid = GridSearch(model: model, steps: configuration.gridSteps, maxEvaluations: configuration.gridEvaluations,
                              maxSplits: configuration.gridSplits).run(count: model.queues.count > 1 ? 2 : 1, memo: memo)
        if let grid {
            for solution in grid {
                var state = PlanState(model: model, time: solution.time, entryShares: solution.shares, memo: memo)
                state.budget = configuration.searchBudget
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
            for start in starts(model: model, memo: memo) {
                var state = PlanState(model: model, time: model.domains.map(\.fastest), memo: memo) { start.shares[$0][$1] }
                state.budget = configuration.searchBudget
                // With many queues the arrangement moves run once per step, not per move.
                state.arrangeWhenSettling = model.queues.count <= 2
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
            var state = PlanState(model: model, time: model.domains.map(\.fastest), memo: memo) { start.shares[$0][$1] }
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
    func starts(model: PlanningModel, memo: EvaluationMemo) -> [SplitStart] {
        var out = SplitStart.all(model: model)
        guard let presence = SplitStart.presence(model: model, limit: configuration.screeningLimit) else { return out }
        var scored: [(power: Double, index: Int)] = []
        for (index, start) in presence.enumerated() {
            var state = PlanState(model: model, time: model.domains.map(\.fastest), memo: memo) { start.shares[$0][$1] }
            if !state.chooseLevels() {
                // A quick repair at top speed: coarse share moves against the violation.
                state.improveSplit(feasibleSearch: false, amounts: PlanState.coarseSteps, rounds: 2)
                guard state.chooseLevels() else { continue }
            }
            if presence.count <= 16 { state.improveArrangements(feasibleSearch: true) }
            scored.append((state.power, index))
        }
        scored.sort { ($0.power, $0.index) < ($1.power, $1.index) }
        for (_, index) in scored.prefix(2) where !out.contains(where: { $0.shares == presence[index].shares }) {
            out.append(presence[index])
        }
        return out
    }
}
