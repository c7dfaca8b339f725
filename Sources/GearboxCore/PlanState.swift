/// A candidate plan under search: a level per domain and a share per (queue, allowed CPU),
/// with cached per-CPU queueing results and per-queue normalised latency.
///
/// A queue's value is its latency measure over its budget (≤ 1 meets the target): the mean
/// over the target for mean targets, `P(T > D)` over `1 - α` for percentiles (checking the
/// tail at the deadline avoids solving for the percentile inside the search).
/// Mutations are logged so that a trial can be rolled back cheaply.
struct PlanState: Sendable {
    let model: PlanningModel
    /// Mean time per ref-s of work per domain (1 / speed for a pure speed).
    private(set) var time: [Double]
    /// Per entry: route share of requests, fork-join fraction of work (k = n) or 1 for a chosen CPU (k < n).
    private(set) var share: [Double]
    let entryQueue: [Int]
    let entryCPU: [Int]
    /// Entries of each queue (in the order of the queue's CPUs) and of each CPU.
    let queueEntries: [[Int]]
    let cpuEntries: [[Int]]
    let cpuQueues: [[Int]]
    let domainQueues: [[Int]]

    struct CPUCache: Sendable {
        var utilization = 0.0
        var meanWait = 0.0
        var tail: WaitingTail?
        /// The exact tail, when the search judges route percentiles by it.
        var exact: PollaczekKhinchineTail?
    }
    private(set) var cpu: [CPUCache]
    /// Per entry: its response measure (mean response, or `P(T > deadline)`).
    private(set) var measure: [Double]
    /// Per queue: normalised latency, ≤ 1 when the target is met.
    private(set) var value: [Double]
    /// Per domain: work per second of one copy (ref-s per second).
    private(set) var domainWork: [Double]
    /// Whether re-choosing a domain's level also re-chooses its arrangement (costlier).
    var arrangeWhenSettling = true
    /// Domains whose level the search must leave as it is.
    var locked: [Bool] = []
    /// CPU evaluations the optional improvement steps may still spend (bounds plan time);
    /// one looked up in `memo` counts too, so that the memo never changes a plan.
    var budget = Int.max
    /// Evaluations already made, shared with the states copied from this one.
    let memo: EvaluationMemo

    private var logTime: [(Int, Double)] = []
    private var logShare: [(Int, Double)] = []
    private var logCPU: [(Int, CPUCache)] = []
    private var logMeasure: [(Int, Double)] = []
    private var logValue: [(Int, Double)] = []
    private var logWork: [(Int, Double)] = []

    /// A state with the given per-entry shares (entries are numbered queue by queue, in the
    /// order of each queue's CPUs).
    init(model: PlanningModel, time: [Double], entryShares: [Double], memo: EvaluationMemo = EvaluationMemo()) {
        var index = 0
        var offsets: [Int] = []
        for queue in model.queues {
            offsets.append(index)
            index += queue.cpus.count
        }
        self.init(model: model, time: time, memo: memo) { entryShares[offsets[$0] + $1] }
    }

    init(model: PlanningModel, time: [Double], memo: EvaluationMemo = EvaluationMemo(), share: (Int, Int) -> Double) {
        self.model = model
        self.memo = memo
        self.time = time
        var entryQueue: [Int] = [], entryCPU: [Int] = [], queueEntries: [[Int]] = []
        var cpuEntries = [[Int]](repeating: [], count: model.cpuNumber.count)
        var shares: [Double] = []
        for (q, queue) in model.queues.enumerated() {
            var list: [Int] = []
            for (position, i) in queue.cpus.enumerated() {
                let e = entryQueue.count
                entryQueue.append(q)
                entryCPU.append(i)
                shares.append(share(q, position))
                list.append(e)
                cpuEntries[i].append(e)
            }
            queueEntries.append(list)
        }
        self.entryQueue = entryQueue
        self.entryCPU = entryCPU
        self.queueEntries = queueEntries
        self.cpuEntries = cpuEntries
        self.share = shares
        cpuQueues = cpuEntries.map { Array(Set($0.map { entryQueue[$0] })).sorted() }
        domainQueues = model.domains.map { domain in
            Array(Set(domain.cpus.flatMap { cpuEntries[$0].map { entryQueue[$0] } })).sorted()
        }
        locked = [Bool](repeating: false, count: model.domains.count)
        cpu = [CPUCache](repeating: CPUCache(), count: model.cpuNumber.count)
        measure = [Double](repeating: 0, count: entryQueue.count)
        domainWork = [Double](repeating: 0, count: model.domains.count)
        value = [Double](repeating: 0, count: model.queues.count)
        for d in model.domains.indices { domainWork[d] = computeWork(domain: d) }
        refreshCPUs(Array(cpu.indices))
        for q in model.queues.indices { refreshValue(q) }
        commit()
    }

    // MARK: Trials

    /// Forgets the log: the changes since the last commit stay.
    mutating func commit() {
        logTime.removeAll(keepingCapacity: true)
        logShare.removeAll(keepingCapacity: true)
        logCPU.removeAll(keepingCapacity: true)
        logMeasure.removeAll(keepingCapacity: true)
        logValue.removeAll(keepingCapacity: true)
        logWork.removeAll(keepingCapacity: true)
    }

    /// Undoes every change since the last commit.
    mutating func rollback() {
        rollback(to: Mark())
        commit()
    }

    /// A point in the log to roll back to, for trials inside trials.
    struct Mark {
        var time = 0, share = 0, cpu = 0, measure = 0, value = 0, work = 0
    }

    var mark: Mark {
        Mark(time: logTime.count, share: logShare.count, cpu: logCPU.count, measure: logMeasure.count, value: logValue.count,
             work: logWork.count)
    }

    /// Undoes the changes made since `mark`.
    mutating func rollback(to mark: Mark) {
        while logMeasure.count > mark.measure { let (e, old) = logMeasure.removeLast(); measure[e] = old }
        while logCPU.count > mark.cpu { let (i, old) = logCPU.removeLast(); cpu[i] = old }
        while logValue.count > mark.value { let (q, old) = logValue.removeLast(); value[q] = old }
        while logShare.count > mark.share { let (e, old) = logShare.removeLast(); share[e] = old }
        while logTime.count > mark.time { let (d, old) = logTime.removeLast(); time[d] = old }
        while logWork.count > mark.work { let (d, old) = logWork.removeLast(); domainWork[d] = old }
    }

    /// Sets domain `d`'s level and refreshes what depends on it.
    mutating func setTime(_ d: Int, _ t: Double) {
        guard time[d] != t else { return }
        logTime.append((d, time[d]))
        time[d] = t
        refreshCPUs(model.domains[d].cpus)
        for q in domainQueues[d] { refreshValue(q) }
    }

    /// Sets several shares at once and refreshes the CPUs and queues they touch.
    mutating func setShares(_ changes: [(entry: Int, share: Double)]) {
        var cpus: [Int] = []
        for (e, s) in changes where share[e] != s {
            logShare.append((e, share[e]))
            share[e] = s
            if !cpus.contains(entryCPU[e]) { cpus.append(entryCPU[e]) }
        }
        cpus.sort()
        var domains: [Int] = []
        for i in cpus where !domains.contains(model.cpuDomain[i]) { domains.append(model.cpuDomain[i]) }
        for d in domains {
            logWork.append((d, domainWork[d]))
            domainWork[d] = computeWork(domain: d)
        }
        refreshCPUs(cpus)
        var queues: [Int] = []
        for i in cpus {
            for q in cpuQueues[i] where !queues.contains(q) { queues.append(q) }
        }
        queues.sort()
        for q in queues { refreshValue(q) }
    }

    // MARK: Derived quantities

    /// Arrival rate and mean work per request of entry `e`.
    func load(_ e: Int) -> (rate: Double, work: Double) {
        let queue = model.queues[entryQueue[e]]
        let s = share[e]
        switch queue.kind {
        case .route:
            let i = entryCPU[e]
            return (s * queue.rate / Double(model.domains[model.cpuDomain[i]].multiplicity * model.cpuCopies[i]), queue.work)
        case .forkJoin:
            // Coded work: each chosen CPU carries w / k; else the fraction s of the work.
            if queue.isCoded { return (s > 0 ? queue.rate : 0, queue.work / Double(queue.parts.k)) }
            return (s > 0 ? queue.rate : 0, s * queue.work)
        }
    }

    /// Work per second on one copy of domain `d` (ref-s per second).
    func work(domain d: Int) -> Double { domainWork[d] }

    private func computeWork(domain d: Int) -> Double {
        var total = 0.0
        for i in model.domains[d].cpus {
            var perCPU = 0.0
            for e in cpuEntries[i] {
                let l = load(e)
                perCPU += l.rate * l.work
            }
            total += Double(model.cpuCopies[i]) * perCPU
        }
        return total
    }

    /// Host power: Σ_d W_d g_d(t_d) + every CPU's idle power (docs/model.md, "Energy").
    var power: Double {
        var total = 0.0
        for d in model.domains.indices {
            var domainPower = Double(model.cpuCount(domain: d)) * model.domains[d].idle
            let w = work(domain: d)
            if w > 0 { domainPower += w * model.marginalEnergy(domain: d, time: time[d]) }
            total += Double(model.domains[d].multiplicity) * domainPower
        }
        return total
    }

    /// Every queue meets its target and every CPU its utilisation bound.
    var isFeasible: Bool {
        value.allSatisfy { $0 <= 1 } && cpu.allSatisfy { $0.utilization <= model.configuration.maxUtilization * (1 + 1e-12) }
    }

    /// How far the plan is from feasible (0 when feasible): excess normalised latency plus
    /// excess utilisation.
    var violation: Double {
        var total = 0.0
        for v in value where v > 1 { total += min(v, 1e6) - 1 }
        for c in cpu where c.utilization > model.configuration.maxUtilization {
            total += 10 * (c.utilization - model.configuration.maxUtilization)
        }
        return total
    }

    // MARK: Refresh

    /// CPUs `i` and `j` of one domain carry the same loads, so their results are equal.
    func sameLoad(_ i: Int, _ j: Int) -> Bool {
        guard model.cpuDomain[i] == model.cpuDomain[j], model.cpuCopies[i] == model.cpuCopies[j] else { return false }
        let a = cpuEntries[i], b = cpuEntries[j]
        guard a.count == b.count else { return false }
        for k in a.indices where entryQueue[a[k]] != entryQueue[b[k]] || share[a[k]] != share[b[k]] { return false }
        return true
    }

    /// CPU evaluations a change of domain `d`'s level costs `budget` (`refreshCPUs` computes
    /// each distinct load pattern once). Level choices that come back to a level they have
    /// already evaluated restore it from the log instead, and charge this, so that a plan
    /// does not depend on how cheaply its levels were found.
    func evaluationCost(domain d: Int) -> Int {
        let cpus = model.domains[d].cpus
        var count = 0
        for (position, i) in cpus.enumerated() where !cpus[..<position].contains(where: { sameLoad(i, $0) }) { count += 1 }
        return count
    }

    /// Refreshes `cpus`, computing each distinct load pattern once.
    private mutating func refreshCPUs(_ cpus: [Int]) {
        for (position, i) in cpus.enumerated() {
            if let j = cpus[..<position].first(where: { sameLoad(i, $0) }) {
                logCPU.append((i, cpu[i]))
                cpu[i] = cpu[j]
                let a = cpuEntries[i], b = cpuEntries[j]
                for k in a.indices {
                    logMeasure.append((a[k], measure[a[k]]))
                    measure[a[k]] = measure[b[k]]
                }
            } else {
                refreshCPU(i)
            }
        }
    }

    private mutating func refreshCPU(_ i: Int) {
        budget -= 1
        logCPU.append((i, cpu[i]))
        // Only tails are dearer to evaluate than to look up.
        let key = cpuQueues[i].contains { model.queues[$0].quantile != nil || !model.queues[$0].isRoute }
            ? EvaluationMemo.Key(cpu: i, time: time[model.cpuDomain[i]], shares: cpuEntries[i].map { share[$0] }) : nil
        if let key, let known = memo[key] {
            cpu[i] = known.cache
            for (k, e) in cpuEntries[i].enumerated() {
                logMeasure.append((e, measure[e]))
                measure[e] = known.measures[k]
            }
            return
        }
        let mix = model.mix(domain: model.cpuDomain[i], time: time[model.cpuDomain[i]])
        var rho = 0.0, second = 0.0, needsTail = false
        for e in cpuEntries[i] {
            let (rate, work) = load(e)
            guard rate > 0, work > 0 else { continue }
            let queue = model.queues[entryQueue[e]]
            rho += rate * work * mix.timePerWork
            second += rate * mix.secondMomentService(work: work, scv: queue.scv)
            if queue.quantile != nil || !queue.isRoute { needsTail = true }
        }
        let wait = rho < 1 ? second / (2 * (1 - rho)) : .infinity
        var tail: WaitingTail?
        var exact: PollaczekKhinchineTail?
        if needsTail {
            var classes: [GammaService] = []
            classes.reserveCapacity(2 * cpuEntries[i].count)
            for e in cpuEntries[i] {
                let (rate, work) = load(e)
                guard rate > 0, work > 0 else { continue }
                let scv = model.queues[entryQueue[e]].scv
                if mix.pHigh > 0 { classes.append(GammaService(rate: rate * mix.pHigh, work: work, scv: scv, speed: mix.highSpeed)) }
                if mix.pHigh < 1 { classes.append(GammaService(rate: rate * (1 - mix.pHigh), work: work, scv: scv, speed: mix.lowSpeed)) }
            }
            tail = WaitingTail(classes: classes)
            if model.configuration.searchWithExactTails { exact = PollaczekKhinchineTail(classes: classes) }
        }
        cpu[i] = CPUCache(utilization: rho, meanWait: wait, tail: tail, exact: exact)
        for e in cpuEntries[i] {
            logMeasure.append((e, measure[e]))
            measure[e] = entryMeasure(e, mix: mix)
        }
        if let key { memo.store(EvaluationMemo.Result(cache: cpu[i], measures: cpuEntries[i].map { measure[$0] }), for: key) }
    }

    /// Mean response (mean targets) or `P(T > deadline)` (percentiles) of entry `e`.
    private func entryMeasure(_ e: Int, mix: SpeedMix) -> Double {
        let (rate, work) = load(e)
        let queue = model.queues[entryQueue[e]]
        let c = cpu[entryCPU[e]]
        if work <= 0 || (rate <= 0 && queue.isRoute) { return 0 }
        if c.utilization >= 1 { return .infinity }
        if queue.quantile == nil { return c.meanWait + work * mix.timePerWork }
        if let exact = c.exact, queue.isRoute {
            return exact.responseProbabilityExceeding(queue.deadline, service: LatencyModel.classes(rate: 1, work: work, scv: queue.scv, mix: mix))
        }
        return c.tail?.responseProbabilityExceeding(queue.deadline, work: work, scv: queue.scv, mix: mix) ?? 1
    }

    private mutating func refreshValue(_ q: Int) {
        logValue.append((q, value[q]))
        value[q] = queueValue(q)
    }

    /// Normalised latency of queue `q` from the cached entries.
    private func queueValue(_ q: Int) -> Double {
        let queue = model.queues[q]
        let entries = queueEntries[q]
        switch queue.kind {
        case .route:
            var total = 0.0, weighted = 0.0
            for e in entries where share[e] > 0 {
                total += share[e]
                weighted += share[e] * measure[e]
            }
            guard total > 0 else { return .infinity }
            let budget = queue.quantile.map { 1 - $0 } ?? queue.target.seconds
            return weighted / total / budget
        case .forkJoin:
            // Its inputs: the levels of its CPUs' domains and every share on its CPUs.
            var key: [Double] = [Double(q)]
            for e in entries {
                let i = entryCPU[e]
                key.append(time[model.cpuDomain[i]])
                for f in cpuEntries[i] { key.append(share[f]) }
            }
            if let known = memo[forkJoin: key] { return known }
            let value = forkJoinValue(q)
            memo.store(forkJoin: value, for: key)
            return value
        }
    }

    /// Normalised latency of fork-join queue `q` from the cached entries.
    private func forkJoinValue(_ q: Int) -> Double {
        let queue = model.queues[q]
        let members = queueEntries[q].filter { share[$0] > 0 }
        let k = queue.parts.k
        guard members.count >= (queue.isCoded ? k : 1) else { return .infinity }
        if members.contains(where: { cpu[entryCPU[$0]].utilization >= 1 }) { return .infinity }
        if let quantile = queue.quantile {
            let needed = queue.isCoded ? k : members.count
            let fewer = ForkJoinLatency.probabilityFewerThan(needed, done: members.map { 1 - measure[$0] })
            return fewer / (1 - quantile)
        }
        return forkJoinMean(q, members: members) * (1 + queue.margin) / queue.target.seconds
    }

    /// The fork-join mean response of queue `q` by the independence integral.
    func forkJoinMean(_ q: Int, members: [Int]) -> Double {
        let queue = model.queues[q]
        let subtasks = members.map { e -> SubtaskResponse in
            let i = entryCPU[e]
            let (_, work) = load(e)
            let mix = model.mix(domain: model.cpuDomain[i], time: time[model.cpuDomain[i]])
            return SubtaskResponse(wait: cpu[i].tail ?? WaitingTail(terms: [], saturated: false),
                                   service: LatencyModel.classes(rate: 1, work: work, scv: queue.scv, mix: mix))
        }
        let scale = members.reduce(0.0) { max($0, measure[$1]) }
        let needed = queue.isCoded ? queue.parts.k : members.count
        return ForkJoinLatency.meanResponse(needed: needed, subtasks: subtasks, scale: max(scale, 1e-9))
    }
}
