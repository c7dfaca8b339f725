import Synchronization

/// Re-planning only the parts of a host whose inputs changed (docs/agent.md, "Re-plans").
///
/// The planner splits a host into parts that share no queue (`PlanningModel.parts`) and
/// searches each on its own model (`PlanningModel.Restriction`): the search of a part is a
/// function of that model alone (the planner's settings are in it). A `PartPlanCache` keeps
/// each part's searched plan by its model, so that a re-plan whose other parts are as they
/// were searches only the parts that changed. Everything host-wide that follows the per-part
/// search (judging the whole plan with `LatencyModel`, the exact-tail rounds for percentile
/// targets, the overload rule, the switch budget) runs as it does without the cache: a plan
/// made with the cache is the plan made without it, bit for bit.
public final class PartPlanCache: Sendable {
    private struct Storage {
        /// Plans used since the last `age()`, and those used in the generation before.
        var current: [PlanningModel: PartPlan] = [:]
        var previous: [PlanningModel: PartPlan] = [:]
        var hits = 0
        var misses = 0
    }

    private let storage = Mutex(Storage())

    /// At most this many part plans per generation (a bound on memory, far above the parts
    /// of any host times the searches of one plan).
    static let limit = 4096

    public init() {}

    /// Starts a new generation: plans not used since the previous call are dropped now.
    /// The agent calls it before each re-plan, so the cache holds what the plan in force and
    /// the one being made used, and no more.
    public func age() {
        storage.withLock {
            $0.previous = $0.current
            $0.current = [:]
        }
    }

    /// Parts found and parts searched since the cache was made.
    public var counts: (hits: Int, misses: Int) {
        storage.withLock { ($0.hits, $0.misses) }
    }

    func plan(for model: PlanningModel) -> PartPlan? {
        storage.withLock { storage in
            if let known = storage.current[model] {
                storage.hits += 1
                return known
            }
            guard let known = storage.previous[model] else {
                storage.misses += 1
                return nil
            }
            storage.hits += 1
            if storage.current.count < Self.limit { storage.current[model] = known }
            return known
        }
    }

    func store(_ plan: PartPlan, for model: PlanningModel) {
        storage.withLock { storage in
            if storage.current.count < Self.limit { storage.current[model] = plan }
        }
    }
}

/// One part's searched plan in the part's own numbering (`PlanningModel.Restriction`): what
/// `Layout.record` copies onto the host's domains, CPUs and queues.
struct PartPlan: Sendable {
    /// The search met every target of the part.
    var feasible: Bool
    /// Per domain of the part: its mean time per unit of work, its dither period when it
    /// mixes two speeds, and why it runs one pure speed where it fell back to one.
    var times: [Double]
    var periods: [Double?]
    var reasons: [String?]
    /// Per queue of the part: the part's CPUs it uses and its share of each (above 0).
    var shares: [[Share]]

    struct Share: Sendable {
        var cpu: Int
        var share: Double
    }

    init(_ state: PlanState, feasible: Bool, reasons: [String?], planner: Planner) {
        self.feasible = feasible
        self.reasons = reasons
        times = state.model.domains.indices.map { state.time[$0] }
        periods = state.model.domains.indices.map { state.isMixing($0) ? planner.ditherBounds(state, domain: $0).cap : nil }
        shares = state.queueEntries.map { entries in
            entries.filter { state.share[$0] > 0 }.map { Share(cpu: state.entryCPU[$0], share: state.share[$0]) }
        }
    }
}

extension Planner {
    /// The plan of one part: from `partCache` when a part of the same model was searched for
    /// the plan in force (or earlier in this one), else searched.
    func plannedPart(_ restriction: PlanningModel.Restriction) -> PartPlan {
        if let known = partCache?.plan(for: restriction.model) { return known }
        let planned = searchedPart(restriction)
        partCache?.store(planned, for: restriction.model)
        return planned
    }

    /// The search of one part, with the dither fallbacks: domains whose dither period bounds
    /// cross run one pure speed, and the part is searched again until none is left. Mixes that
    /// do not pay for their switching are found after the first search only (a bound on the
    /// re-searches; a later mix's switching is still in its power).
    func searchedPart(_ initial: PlanningModel.Restriction) -> PartPlan {
        var restriction = initial
        var reasons = [String?](repeating: nil, count: restriction.model.domains.count)
        // The searches of a part differ only in which domains run pure speeds.
        let memo = EvaluationMemo()
        var outcome = searchPart(model: restriction.model, memo: memo)
        for round in restriction.model.domains.indices where outcome.feasible {
            let fallbacks = ditherFallbacks(outcome.state, priceSwitching: round == 0)
            guard !fallbacks.isEmpty else { break }
            let before = (outcome, restriction, reasons)
            for (d, reason) in fallbacks {
                restriction.model.domains[d].pureOnly = true
                reasons[d] = reason
            }
            outcome = searchPart(model: restriction.model, memo: memo)
            // Pure speeds chosen for their switching price only: keep them where the new
            // search is cheaper with switching counted (a search is not exact).
            if fallbacks.allSatisfy({ $0.1.hasPrefix("switching") }), before.0.feasible,
               !outcome.feasible || pricedPower(outcome.state) > pricedPower(before.0.state) {
                (outcome, restriction, reasons) = before
                break
            }
        }
        return PartPlan(outcome.state, feasible: outcome.feasible, reasons: reasons, planner: self)
    }
}
