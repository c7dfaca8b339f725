/// The re-plan check judged part by part (docs/agent.md, "Re-plans").
///
/// The latency half of `shouldReplan(planned:current:plan:…)` predicts the plan in force
/// under the current estimates. Queues that share no CPU do not affect one another, so the
/// host falls into parts (queues linked by the domains they may use), and latency is monotone
/// in load: a part none of whose queues rose above its planned figures (rate and work, after
/// `discounted`; every other figure as planned) is predicted no slower than at the planned
/// figures themselves. So a part that was clear of the threshold at the planned figures
/// cannot cross it without a risen queue, and only the parts with one (and those that were
/// already beyond it when planned) are judged; a part that stays clear with every queue at
/// the top of its box (rate and work raised by the band) is not judged while its queues stay
/// inside their boxes. A part that must be judged is judged first a step ahead of its
/// estimates (an eighth of the way to the top of its box); when it is clear there, every figure
/// up to that point is known clear too, and the part is not judged again until a queue rises
/// beyond it (estimates that creep up tick by tick would otherwise have their part judged
/// every tick). The decision is the one the whole-host judgement makes.
extension ReplanPolicy {
    /// What the part-wise check knows of a plan: computed once per plan in force and planned
    /// workload (`baseline(planned:plan:platform:configuration:headroom:)`).
    public struct Baseline: Sendable {
        /// The planned workload (as judged: the planning view), headroom and planner settings
        /// it holds for; the caller keeps it only while the plan and platform are the same.
        public let planned: Workload
        let headroom: Double
        let configuration: PlannerConfiguration
        /// Per planned queue: its part; per part: its queues and the platform domains they may use.
        let partOfQueue: [Int]
        let parts: [Part]
        /// Per part: some queue was beyond the threshold (or within rounding of it) at the
        /// planned figures, so it is judged whatever moved.
        let overAtPlan: [Bool]
        /// Queue index by name, when the names are unique.
        let index: [String: Int]
        /// Per planned queue: the factor on its rate and on its work up to which it stays in
        /// its box (1 + its band); per part: no queue is beyond the threshold when every queue
        /// of the part is at the top of its box, so none is anywhere inside the boxes.
        let boxFactor: [Double]
        let safeInBox: [Bool]
        /// Per planned queue: the rate and work (every other figure as planned) up to which
        /// its part is known to be clear of the threshold, with every other queue of the part
        /// up to its own; -∞ for a part beyond it at the planned figures. It starts at the top
        /// of the box for a part safe there, at the planned figures otherwise, and grows to
        /// the figures a judgement found clear.
        var clearRate: [Double]
        var clearWork: [Double]
        /// Per part: judged as its estimates stand, without the step ahead (`partsBeyond`): it
        /// was beyond the threshold at the planned figures, or a step ahead of its estimates.
        var nearThreshold: [Bool]

        struct Part: Sendable {
            var queues: [Int]
            var domains: [Int]
        }

        /// The planned position of `queue`, found `k`-th among the current ones: `k` itself
        /// when the names line up there (the agent keeps its queues in one order, and this
        /// runs for every queue every tick), else by name.
        func position(of queue: WorkQueue, at k: Int) -> Int? {
            k < planned.queues.count && planned.queues[k].name == queue.name ? k : index[queue.name]
        }
    }

    /// The baseline of `plan` (feasible) made for `planned`.
    public func baseline(
        planned: Workload, plan: Plan, platform: Platform, configuration: PlannerConfiguration, headroom: Double
    ) -> Baseline {
        let (partOfQueue, parts) = Self.parts(of: planned, on: platform)
        let prediction = LatencyModel.predict(platform: platform, workload: planned, plan: plan, configuration: configuration)
        var over = [Bool](repeating: false, count: parts.count)
        for (q, queue) in prediction.queues.enumerated() where Self.beyond(queue, headroom: headroom, slack: 1e-9) {
            over[partOfQueue[q]] = true
        }
        var index: [String: Int] = [:]
        for (q, queue) in planned.queues.enumerated() { index[queue.name] = q }
        // The box: each queue's rate and work up to 1 + its band (a rise the band test lets
        // through). One prediction at the top of every box tells which parts cannot cross the
        // threshold while their queues stay inside (latency grows with each queue's rate and
        // work), so a rise inside the box needs no judgement on every tick.
        let factors = planned.queues.map { 1 + band(rate: $0.arrivalRate) }
        var raised = planned
        for q in raised.queues.indices {
            raised.queues[q].arrivalRate *= factors[q]
            raised.queues[q].meanWork *= factors[q]
        }
        let top = LatencyModel.predict(platform: platform, workload: raised, plan: plan, configuration: configuration)
        var safe = [Bool](repeating: true, count: parts.count)
        for (q, queue) in top.queues.enumerated() where !(queue.latency.isFinite) || Self.beyond(queue, headroom: headroom, slack: 1e-9) {
            safe[partOfQueue[q]] = false
        }
        var clearRate = [Double](repeating: -.infinity, count: planned.queues.count)
        var clearWork = clearRate
        for (q, queue) in planned.queues.enumerated() where !over[partOfQueue[q]] {
            let factor = safe[partOfQueue[q]] ? factors[q] : 1
            clearRate[q] = queue.arrivalRate * factor
            clearWork[q] = queue.meanWork * factor
        }
        return Baseline(planned: planned, headroom: headroom, configuration: configuration, partOfQueue: partOfQueue,
                        parts: parts, overAtPlan: over, index: index.count == planned.queues.count ? index : [:],
                        boxFactor: factors, safeInBox: safe, clearRate: clearRate, clearWork: clearWork,
                        nearThreshold: over)
    }

    /// `queue` (planned as queue `q` of `base`) is beyond what its part is known clear at: it
    /// differs from its planned figures in more than rate and work, or has more of either than
    /// the part was found clear with.
    static func beyondClear(_ queue: WorkQueue, _ q: Int, _ base: Baseline) -> Bool {
        if queue.arrivalRate > base.clearRate[q] || queue.meanWork > base.clearWork[q] { return true }
        return differsBeyondLoad(queue, base.planned.queues[q])
    }

    /// `queue` differs from `planned` in something other than rate and work.
    static func differsBeyondLoad(_ queue: WorkQueue, _ planned: WorkQueue) -> Bool {
        var same = queue
        same.arrivalRate = planned.arrivalRate
        same.meanWork = planned.meanWork
        return same != planned
    }

    /// `shouldReplan(planned:current:plan:platform:configuration:headroom:)`, judging only the
    /// parts that can have moved. `baseline` is the caller's to keep while `plan` and
    /// `platform` stay the same (nil after either changed); it is made or remade here when
    /// missing or made for other planned figures, headroom or settings.
    public func shouldReplan(
        planned: Workload?, current: Workload, plan: Plan?, platform: Platform,
        configuration: PlannerConfiguration, headroom: Double, baseline: inout Baseline?
    ) -> Bool {
        if shouldReplan(planned: planned, current: current) { return true }
        guard let planned, let plan, plan.feasible else { return false }
        var base = validBaseline(&baseline, planned: planned, plan: plan, platform: platform,
                                 configuration: configuration, headroom: headroom)
        guard let (judged, discounted) = judgedParts(base, current: current) else {
            return shouldReplan(planned: planned, current: current, plan: plan, platform: platform,
                                configuration: configuration, headroom: headroom)
        }
        defer { baseline = base }
        return !partsBeyond(judged, &base, discounted: discounted, plan: plan, platform: platform, stopAtFirst: true).isEmpty
    }

    /// The queues (by name) whose parts a re-plan must make again: every queue of a part in
    /// which some queue's load moved beyond `refreshFraction` of its band, or is predicted
    /// beyond its target less half the headroom, or is named in `forced`. Nil when the whole
    /// host must be re-planned: no plan, an infeasible one, or queues added, removed,
    /// re-targeted or moved to other CPUs.
    public func queuesToReplan(
        planned: Workload?, current: Workload, plan: Plan?, platform: Platform,
        configuration: PlannerConfiguration, headroom: Double, forced: Set<String> = [], baseline: inout Baseline?
    ) -> Set<String>? {
        guard let planned, let plan, plan.feasible, sameQueues(planned, current) else { return nil }
        var base = validBaseline(&baseline, planned: planned, plan: plan, platform: platform,
                                 configuration: configuration, headroom: headroom)
        defer { baseline = base }
        guard !base.index.isEmpty || planned.queues.isEmpty else { return nil }
        var moved = Set<Int>()
        for queue in current.queues {
            guard let q = base.index[queue.name] else { return nil }
            if forced.contains(queue.name) || leftBand(planned.queues[q], queue, fraction: refreshFraction) {
                moved.insert(base.partOfQueue[q])
            }
        }
        if let (judged, discounted) = judgedParts(base, current: current) {
            moved.formUnion(partsBeyond(judged, &base, discounted: discounted, plan: plan, platform: platform, stopAtFirst: false))
        } else {
            return nil
        }
        return Set(moved.flatMap { base.parts[$0].queues.map { planned.queues[$0].name } })
    }

    /// `current` with every queue not named in `refreshed` at the figures it has in `planned`:
    /// what a partial re-plan plans for (the unmoved parts then plan as they did).
    public static func refreshing(_ refreshed: Set<String>, in current: Workload, planned: Workload) -> Workload {
        let before = Dictionary(planned.queues.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var out = current
        for q in out.queues.indices where !refreshed.contains(out.queues[q].name) {
            if let old = before[out.queues[q].name] { out.queues[q] = old }
        }
        return out
    }

    /// The same queues by name, with the same targets and CPUs, none twice.
    func sameQueues(_ planned: Workload, _ current: Workload) -> Bool {
        let before = Dictionary(planned.queues.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard before.count == current.queues.count, before.count == planned.queues.count else { return false }
        return current.queues.allSatisfy { queue in
            before[queue.name].map { $0.target == queue.target && $0.cpus == queue.cpus } ?? false
        }
    }

    /// The offered load (rate × work) of `queue` moved from that of `planned` by more than
    /// `fraction` of the band.
    func leftBand(_ planned: WorkQueue, _ queue: WorkQueue, fraction: Double) -> Bool {
        let oldLoad = planned.arrivalRate * planned.meanWork
        let newLoad = queue.arrivalRate * queue.meanWork
        return abs(newLoad - oldLoad) > fraction * band(rate: planned.arrivalRate) * max(oldLoad, 1e-9)
    }

    private func validBaseline(
        _ baseline: inout Baseline?, planned: Workload, plan: Plan, platform: Platform,
        configuration: PlannerConfiguration, headroom: Double
    ) -> Baseline {
        if let base = baseline, base.headroom == headroom, base.configuration == configuration, base.planned == planned {
            return base
        }
        let base = self.baseline(planned: planned, plan: plan, platform: platform, configuration: configuration, headroom: headroom)
        baseline = base
        return base
    }

    /// The parts to judge: those with a queue (after `discounted`) beyond the figures its part
    /// is known clear at, which every part beyond the threshold at plan time always is. Nil
    /// when the current queues cannot be matched to the planned ones by name. Also `current`
    /// discounted.
    func judgedParts(_ base: Baseline, current: Workload) -> ([Int], Workload)? {
        let planned = base.planned
        guard planned.queues.count == current.queues.count, !base.index.isEmpty || planned.queues.isEmpty else { return nil }
        let lowered = discounted(current, planned: planned)
        var judged = base.overAtPlan
        for (k, queue) in lowered.queues.enumerated() {
            guard let q = base.position(of: queue, at: k) else { return nil }
            if Self.beyondClear(queue, q, base) { judged[base.partOfQueue[q]] = true }
        }
        return (judged.indices.filter { judged[$0] }, lowered)
    }

    /// The parts among `judged` with a queue predicted beyond its target less half the
    /// headroom under the `discounted` current estimates; with `stopAtFirst`, at most one.
    /// Each judged part is first judged a step ahead of its estimates (an eighth of the way to
    /// the top of its box, some 1–2 %); the parts clear there are clear now (latency grows with
    /// every queue's rate and work), and `base` keeps that point as the figures they are known
    /// clear at. Only the others are judged as they stand, and those clear then are known clear
    /// at their estimates. A part beyond the threshold a step ahead (or at the planned figures)
    /// is near it, and is judged as it stands from then on: one judgement a tick, not two.
    func partsBeyond(
        _ judged: [Int], _ base: inout Baseline, discounted: Workload, plan: Plan, platform: Platform, stopAtFirst: Bool
    ) -> [Int] {
        guard !judged.isEmpty else { return [] }
        let near = judged.filter { base.nearThreshold[$0] }
        let far = judged.filter { !base.nearThreshold[$0] }
        var ahead = discounted
        for (k, queue) in discounted.queues.enumerated() where !far.isEmpty {
            guard let q = base.position(of: queue, at: k) else { continue }
            let factor = 1 + (base.boxFactor[q] - 1) / 8
            ahead.queues[k].arrivalRate = queue.arrivalRate * factor
            ahead.queues[k].meanWork = queue.meanWork * factor
        }
        let (aheadBeyond, aheadQueues) = predictBeyond(far, base, workload: ahead, plan: plan, platform: platform, stopAtFirst: false)
        for p in aheadBeyond { base.nearThreshold[p] = true }
        let unclear = near + aheadBeyond
        Self.remember(far.filter { !aheadBeyond.contains($0) }, at: aheadQueues, in: &base)
        let (beyond, queues) = predictBeyond(unclear, base, workload: discounted, plan: plan, platform: platform, stopAtFirst: stopAtFirst)
        if !stopAtFirst || beyond.isEmpty { Self.remember(unclear.filter { !beyond.contains($0) }, at: queues, in: &base) }
        return beyond
    }

    /// Records `parts` as clear with their queues at `queues` (by planned position), unless some
    /// queue of a part differs from its planned figures in more than rate and work (the
    /// known-clear figures assume not).
    private static func remember(_ parts: [Int], at queues: [Int: WorkQueue], in base: inout Baseline) {
        for p in parts {
            let members = base.parts[p].queues.compactMap { q in queues[q].map { (q, $0) } }
            guard members.count == base.parts[p].queues.count,
                  !members.contains(where: { differsBeyondLoad($1, base.planned.queues[$0]) }) else { continue }
            for (q, queue) in members {
                base.clearRate[q] = queue.arrivalRate
                base.clearWork[q] = queue.meanWork
            }
        }
    }

    /// The parts among `judged` with a queue predicted beyond the threshold under `workload`
    /// (with `stopAtFirst`, at most one), and `workload`'s queues by planned position.
    private func predictBeyond(
        _ judged: [Int], _ base: Baseline, workload: Workload, plan: Plan, platform: Platform, stopAtFirst: Bool
    ) -> (beyond: [Int], queues: [Int: WorkQueue]) {
        guard !judged.isEmpty else { return ([], [:]) }
        // The judged parts' domains (in platform order) and queues (in the current order): the
        // other parts' CPUs carry none of their work, so their latencies are those of the host.
        var domainSelected = [Bool](repeating: false, count: platform.domains.count)
        var partSelected = [Bool](repeating: false, count: base.parts.count)
        for p in judged {
            partSelected[p] = true
            for d in base.parts[p].domains { domainSelected[d] = true }
        }
        let subPlatform = Platform(domains: platform.domains.indices.filter { domainSelected[$0] }.map { platform.domains[$0] })
        var queues: [WorkQueue] = []
        var partOf: [Int] = []
        var byPosition: [Int: WorkQueue] = [:]
        for (k, queue) in workload.queues.enumerated() {
            guard let q = base.position(of: queue, at: k), partSelected[base.partOfQueue[q]] else { continue }
            queues.append(queue)
            partOf.append(base.partOfQueue[q])
            byPosition[q] = queue
        }
        let prediction = LatencyModel.predict(platform: subPlatform, workload: Workload(queues: queues), plan: plan,
                                              configuration: base.configuration)
        var out: [Int] = []
        for (k, queue) in prediction.queues.enumerated() where Self.beyond(queue, headroom: base.headroom, slack: 0) {
            if !out.contains(partOf[k]) { out.append(partOf[k]) }
            if stopAtFirst { break }
        }
        return (out, byPosition)
    }

    /// `queue`'s latency is beyond its target less half the headroom; `slack` (a fraction)
    /// counts those within it of the threshold as beyond too.
    static func beyond(_ queue: QueuePrediction, headroom: Double, slack: Double) -> Bool {
        queue.latency > queue.target.seconds * (1 - headroom / 2) * (1 - slack)
    }

    /// The parts of `workload` on `platform`: queues linked by the domains they may use.
    static func parts(of workload: Workload, on platform: Platform) -> (partOfQueue: [Int], parts: [Baseline.Part]) {
        var domainOfCPU: [Int: Int] = [:]
        for (d, domain) in platform.domains.enumerated() {
            for cpu in domain.cpus where domainOfCPU[cpu] == nil { domainOfCPU[cpu] = d }
        }
        // Union-find over domains; a queue joins the domains it may use.
        var root = Array(platform.domains.indices)
        func find(_ d: Int) -> Int {
            var d = d
            while root[d] != d {
                root[d] = root[root[d]]
                d = root[d]
            }
            return d
        }
        let queueDomains = workload.queues.map { queue in
            Array(Set(queue.allowedCPUs(on: platform).compactMap { domainOfCPU[$0] })).sorted()
        }
        for domains in queueDomains {
            for d in domains.dropFirst() {
                let (a, b) = (find(domains[0]), find(d))
                if a != b { root[max(a, b)] = min(a, b) }
            }
        }
        var partOfRoot: [Int: Int] = [:]
        var parts: [Baseline.Part] = []
        // A queue on no domain of the platform is a part of its own.
        var partOfQueue: [Int] = []
        for (q, domains) in queueDomains.enumerated() {
            guard let first = domains.first else {
                partOfQueue.append(parts.count)
                parts.append(Baseline.Part(queues: [q], domains: []))
                continue
            }
            let r = find(first)
            let p = partOfRoot[r] ?? parts.count
            if p == parts.count {
                partOfRoot[r] = p
                parts.append(Baseline.Part(queues: [], domains: []))
            }
            parts[p].queues.append(q)
            partOfQueue.append(p)
        }
        for d in platform.domains.indices {
            if let p = partOfRoot[find(d)] { parts[p].domains.append(d) }
        }
        return (partOfQueue, parts)
    }
}
