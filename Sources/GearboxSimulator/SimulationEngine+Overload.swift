import GearboxCore

/// Overload as the simulated gearbox runs it (docs/model.md, "Overload"). The planner sees
/// rates; on bursty traffic a queue it gives up during a burst looks servable again as soon
/// as its smoothed rate falls, although its latency measured since is still far beyond its
/// target and the next burst comes before a tick can react. So:
/// - a queue a plan gives up is held given up until the latency it measured since is within
///   its target (over at least the completions feedback needs for a statistic): meanwhile
///   every plan keeps the other queues' targets on whole domains of their own and gives the
///   held queue every other CPU it may use, at top speed (`Planner.plan(…, holding:)`);
/// - each tick, a given-up route queue's split over its CPUs is water-filled against their
///   backlog: new work goes where the queued work drains first, so no CPU it may use idles
///   while another holds seconds of its work (random routing in fixed shares would leave
///   some CPUs far behind after a burst); a given-up fork-join queue takes the CPUs (of
///   those no kept queue uses) where its parts would finish first.
extension SimulationEngine {
    /// Starts measuring, from now, each queue `plan` gives up that is not held yet.
    mutating func holdGivenUp(_ plan: Plan) {
        for queuePlan in plan.queues where queuePlan.givenUp != nil {
            guard let q = workload.queues.firstIndex(where: { $0.name == queuePlan.name }),
                  queues[q].sinceGivenUp == nil else { continue }
            queues[q].sinceGivenUp = LatencyHistogram()
        }
    }

    /// The plan with every held queue given up, when some queue is held and such a plan
    /// keeps every other target (with the corrections, or else without them); nil otherwise.
    mutating func heldPlan(_ planner: Planner, estimate: Workload, plan: Plan) -> Plan? {
        var held: [String: String] = [:]
        for q in queues.indices {
            guard let since = queues[q].sinceGivenUp else { continue }
            let name = workload.queues[q].name
            held[name] = plan.queues.first { $0.name == name }?.givenUp ?? heldReason(q, since)
        }
        guard !held.isEmpty else { return nil }
        let headroom = configuration.gearbox.targetHeadroom
        let (told, corrections) = planningInputs(estimate)
        for withCorrections in [true, false] {
            let planned = corrections.workload(told, feedback: withCorrections, burstAware: withCorrections)
            guard var kept = planner.plan(platform: platform, workload: planned, headroom: headroom, holding: held) else { continue }
            for q in kept.queues.indices {
                let name = kept.queues[q].name
                kept.queues[q].planningFactor = withCorrections ? feedback?.factor(name) ?? 1 : 1
                kept.queues[q].arrivalDispersion = withCorrections ? max(1, corrections.dispersion[name] ?? 1) : 1
            }
            correctionsDropped = !withCorrections
            return kept
        }
        return nil
    }

    private func heldReason(_ q: Int, _ since: LatencyHistogram) -> String {
        let target = workload.queues[q].target
        let measured = target.kind.quantile.map { since.quantile($0) } ?? since.mean
        let text = measured.isFinite ? "\(Planner.roundedMilliseconds(measured)) ms" : "not measured yet"
        return "held since it was given up: \(target.kind.rawValue) measured since \(text) against "
            + "\(Planner.roundedMilliseconds(target.seconds)) ms"
    }

    /// Ends the hold of each queue whose latency measured since it was given up is within
    /// its target, over enough completions; returns whether one ended (re-plan then).
    mutating func releaseRecoveredHolds() -> Bool {
        let settings = feedback?.settings ?? LatencyFeedback.Settings()
        var released = false
        for q in queues.indices {
            guard let since = queues[q].sinceGivenUp else { continue }
            let target = workload.queues[q].target
            guard since.count >= settings.minimumSamples(target.kind) else { continue }
            let measured = target.kind.quantile.map { since.quantile($0) } ?? since.mean
            if measured <= target.seconds {
                queues[q].sinceGivenUp = nil
                released = true
            }
        }
        return released
    }

    /// Water-fills each given-up route queue's split of the plan in force over its CPUs that
    /// no kept queue uses: shares in proportion to `speed × max(0, L − backlog)`, with the
    /// level L such that the queue's expected work over the next tick fills the gaps. A
    /// given-up fork-join queue gets the n CPUs no kept queue uses where a part would finish
    /// first (backlog plus its part at top speed).
    mutating func balanceGivenUpSplits(lastTick arrivals: [Int]) {
        guard let plan = currentPlan else { return }
        let kept = Set(plan.queues.filter { $0.givenUp == nil }.flatMap { $0.split.filter { $0.value > 0 }.keys })
        var balanced = plan
        balanced.queues = []
        for queuePlan in plan.queues where queuePlan.givenUp != nil {
            guard let q = workload.queues.firstIndex(where: { $0.name == queuePlan.name }),
                  !workload.queues[q].confined else { continue }
            let meanWork = estimator.meanWork(queue: q, fallback: workload.queues[q].meanWork)
            var queuePlan = queuePlan
            switch workload.queues[q].dispatch {
            case .route:
                let cpus = queuePlan.split.keys.sorted().filter { queuePlan.split[$0]! > 0 && !kept.contains($0) && cpuIndex[$0] != nil }
                guard cpus.count > 1 else { continue }
                let speeds = cpus.map { topSpeed(ofCPU: $0) }
                let backlog = cpus.map { backlogSeconds(onCPU: $0) }
                // The work expected over a tick: the larger of the estimate and the last tick's.
                let rate = max(estimator.rates?[q] ?? 0, Double(q < arrivals.count ? arrivals[q] : 0) / configuration.gearbox.tick)
                guard let shares = Self.waterFilled(backlog: backlog, speeds: speeds, work: rate * meanWork * configuration.gearbox.tick)
                else { continue }
                queuePlan.split = Dictionary(uniqueKeysWithValues: zip(cpus, shares))
            case .forkJoin(let n, _):
                // The n CPUs where a part started now would finish first, work by capacity.
                let cpus = workload.queues[q].allowedCPUs(on: platform).filter { !kept.contains($0) && cpuIndex[$0] != nil }
                guard cpus.count > n else { continue }
                let finish = cpus.map { backlogSeconds(onCPU: $0) + meanWork / Double(n) / topSpeed(ofCPU: $0) }
                let chosen = cpus.indices.sorted { finish[$0] != finish[$1] ? finish[$0] < finish[$1] : $0 < $1 }.prefix(n).map { cpus[$0] }
                let total = chosen.reduce(0) { $0 + topSpeed(ofCPU: $1) }
                queuePlan.split = Dictionary(uniqueKeysWithValues: chosen.map { ($0, topSpeed(ofCPU: $0) / total) })
            }
            balanced.queues.append(queuePlan)
        }
        if !balanced.queues.isEmpty { installSplits(balanced) }
    }

    /// Shares `speed_i × max(0, L − backlog_i)` normalised, with L such that they add up to
    /// `work` (reference-seconds); nil when there is no work to place or an input is not finite.
    static func waterFilled(backlog: [Double], speeds: [Double], work: Double) -> [Double]? {
        guard work > 0, work.isFinite, backlog.allSatisfy(\.isFinite), speeds.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
        // Raise L over the backlogs in increasing order until the gaps hold the work.
        let order = backlog.indices.sorted { backlog[$0] < backlog[$1] }
        var speedSum = 0.0, weighted = 0.0, level = 0.0
        for (k, i) in order.enumerated() {
            speedSum += speeds[i]
            weighted += speeds[i] * backlog[i]
            level = (work + weighted) / speedSum
            if k + 1 == order.count || level <= backlog[order[k + 1]] { break }
        }
        let gaps = backlog.indices.map { speeds[$0] * max(0, level - backlog[$0]) }
        let total = gaps.reduce(0, +)
        guard total > 0, total.isFinite else { return nil }
        return gaps.map { $0 / total }
    }

    private func topSpeed(ofCPU cpu: Int) -> Double { models[cpus[cpuIndex[cpu]!].domain].capacityScale }

    /// Seconds CPU `cpu` (platform number) needs at top speed for all the work queued on it,
    /// the job in service included.
    func backlogSeconds(onCPU cpu: Int) -> Double {
        guard let i = cpuIndex[cpu] else { return 0 }
        var work = waiting[i].work(apartFrom: -1)
        if cpus[i].busy { work += cpus[i].remaining }
        let top = models[cpus[i].domain].capacityScale
        return top > 0 ? work / top : .infinity
    }
}
