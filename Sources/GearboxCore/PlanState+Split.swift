/// Improving the split: share moves between domains and between CPUs of one domain,
/// each followed by re-choosing the levels of the domains it touches.
extension PlanState {
    /// A share move: take `amount` of queue `queue` from the `from` entries and give it to the `to` entries.
    struct Move {
        var queue: Int
        var from: [Int]
        var to: [Int]
        /// An exchange: a second queue moves the same work the other way.
        var partner: (queue: Int, from: [Int], to: [Int])?
    }

    /// Entries of queue `q` on domain `d`.
    func entries(ofQueue q: Int, onDomain d: Int) -> [Int] {
        queueEntries[q].filter { model.cpuDomain[entryCPU[$0]] == d }
    }

    /// Queues whose share can move (route, and fork-join k = n work fractions).
    var movableQueues: [Int] {
        model.queues.indices.filter { !model.queues[$0].isCoded && model.queues[$0].cpus.count > 1 }
    }

    /// Candidate moves for queue `q`: between each ordered pair of its domains, and between
    /// CPUs of one domain with different loads (one representative per pair of load patterns).
    func moves(ofQueue q: Int) -> [Move] {
        var out: [Move] = []
        let domains = Array(Set(queueEntries[q].map { model.cpuDomain[entryCPU[$0]] })).sorted()
        for a in domains {
            for b in domains where a != b {
                out.append(Move(queue: q, from: entries(ofQueue: q, onDomain: a), to: entries(ofQueue: q, onDomain: b)))
            }
        }
        for d in domains {
            // Between CPUs of one domain: one representative per distinct load pattern, two
            // for a pattern several CPUs share (a move between those breaks the symmetry,
            // which only pays when other queues share the domain: for one queue, latency is
            // convex in load and an even spread over identical CPUs is best).
            let alone = routeQueues(onDomain: d).allSatisfy { $0.queue == q }
            let copies = alone ? 1 : 2
            var chosen: [Int] = []
            var patterns: [[Double]] = []
            var counts: [Int] = []
            for e in entries(ofQueue: q, onDomain: d) {
                let pattern = cpuEntries[entryCPU[e]].map { share[$0] } + [Double(model.cpuCopies[entryCPU[e]])]
                if let index = patterns.firstIndex(of: pattern) {
                    if counts[index] < copies {
                        counts[index] += 1
                        chosen.append(e)
                    }
                } else {
                    patterns.append(pattern)
                    counts.append(1)
                    chosen.append(e)
                }
            }
            for a in chosen {
                for b in chosen where a != b {
                    out.append(Move(queue: q, from: [a], to: [b]))
                }
            }
        }
        return out
    }

    /// Exchanges for route queues `a` and `b`: `a` leaves domain `d` for `e` while `b` leaves
    /// `e` for `d` with the same work, which is how queues sort themselves onto domains.
    func exchanges(_ a: Int, _ b: Int) -> [Move] {
        let domainsA = Set(queueEntries[a].map { model.cpuDomain[entryCPU[$0]] })
        let domainsB = Set(queueEntries[b].map { model.cpuDomain[entryCPU[$0]] })
        let common = domainsA.intersection(domainsB).sorted()
        var out: [Move] = []
        for d in common {
            for e in common where e != d {
                out.append(Move(queue: a, from: entries(ofQueue: a, onDomain: d), to: entries(ofQueue: a, onDomain: e),
                                partner: (b, entries(ofQueue: b, onDomain: e), entries(ofQueue: b, onDomain: d))))
            }
        }
        return out
    }

    /// The share changes that move `amount` from `move.from` (proportionally to what each
    /// holds) to `move.to` (proportionally to what each holds, evenly when all are empty).
    func changes(for move: Move, amount: Double) -> [(entry: Int, share: Double)]? {
        var out: [(entry: Int, share: Double)] = []
        if let partner = move.partner {
            // Same work both ways: the partner's amount in its own share units.
            let a = model.queues[move.queue], b = model.queues[partner.queue]
            let held = move.from.reduce(0) { $0 + share[$1] }
            let partnerHeld = partner.from.reduce(0) { $0 + share[$1] }
            guard held > 1e-12, partnerHeld > 1e-12 else { return nil }
            let work = min(amount * a.rate * a.work, held * a.rate * a.work, partnerHeld * b.rate * b.work)
            guard let first = changes(for: Move(queue: move.queue, from: move.from, to: move.to), amount: work / (a.rate * a.work)),
                  let second = changes(for: Move(queue: partner.queue, from: partner.from, to: partner.to), amount: work / (b.rate * b.work))
            else { return nil }
            return first + second
        }
        let held = move.from.reduce(0) { $0 + share[$1] }
        guard held > 1e-12 else { return nil }
        var taken = min(amount, held)
        // No move may leave a share below the minimum (docs/model.md: such a share is 0): take
        // everything rather than leave a trickle behind.
        if move.from.contains(where: { share[$0] > 0 && share[$0] * (1 - taken / held) < minimumShare($0) }) { taken = held }
        for e in move.from { out.append((e, share[e] * (1 - taken / held))) }
        let receiving = move.to.reduce(0) { $0 + share[$1] }
        let copies = move.to.reduce(0) { $0 + model.cpuCopies[entryCPU[$1]] }
        for e in move.to {
            let add = receiving > 1e-12 ? taken * share[e] / receiving : taken * Double(model.cpuCopies[entryCPU[e]]) / Double(copies)
            out.append((e, share[e] + add))
        }
        if out.contains(where: { $0.share > 0 && $0.share < minimumShare($0.entry) * (1 - 1e-9) }) { return nil }
        let queue = model.queues[move.queue]
        if case .forkJoin = queue.kind {
            // At most n CPUs may take parts.
            let nonzero = queueEntries[move.queue].filter { e in
                (out.first { $0.entry == e }?.share ?? share[e]) > 1e-12
            }.count
            if nonzero > queue.parts.n { return nil }
        }
        return out
    }

    /// The least nonzero share of entry `e`: the configured minimum per CPU, times the
    /// CPUs it stands for (copies of a merged domain, CPUs of a class).
    func minimumShare(_ e: Int) -> Double {
        let i = entryCPU[e]
        return model.configuration.minimumShare * Double(model.domains[model.cpuDomain[i]].multiplicity * model.cpuCopies[i])
    }

    /// Domains whose CPUs hold the given entries, ascending.
    func domains(of entries: [Int]) -> [Int] {
        Array(Set(entries.map { model.cpuDomain[entryCPU[$0]] })).sorted()
    }

    /// Applies `move` and re-chooses the touched domains' levels; keeps it if host power
    /// falls (feasible search) or the violation falls (at top speed, infeasible search).
    mutating func tryMove(_ move: Move, amount: Double, feasibleSearch: Bool) -> Bool {
        commit()
        guard budget > 0 else { return false }
        guard let changes = changes(for: move, amount: amount) else { return false }
        let before = feasibleSearch ? power : violation
        setShares(changes)
        if feasibleSearch {
            var touched = domains(of: move.to)
            for d in domains(of: move.from) where !touched.contains(d) { touched.append(d) }
            if let partner = move.partner {
                for d in domains(of: partner.from + partner.to) where !touched.contains(d) { touched.append(d) }
            }
            if relevel(touched) && power < before - 1e-12 * max(1, before) {
                commit()
                return true
            }
        } else if violation < before - 1e-12 {
            commit()
            return true
        }
        rollback()
        return false
    }

    /// Re-chooses the levels of `domains` (one or two) after a change, relaxing them in each
    /// order and keeping the cheaper result: the order decides which side uses the slack.
    mutating func relevel(_ domains: [Int]) -> Bool {
        func attempt(_ order: [Int]) -> Bool {
            for d in order where !settle(d) { return false }
            return isFeasible
        }
        guard domains.count == 2 else { return attempt(domains) }
        let start = mark
        let first = attempt(domains)
        let firstPower = first ? power : .infinity
        rollback(to: start)
        let second = attempt(domains.reversed())
        if second && power <= firstPower { return true }
        rollback(to: start)
        return attempt(domains)
    }

    /// Local search over share moves with shrinking steps; interleaves slack trades.
    mutating func improveSplit(feasibleSearch: Bool, amounts: [Double], rounds: Int = 4) {
        let queues = movableQueues
        guard !queues.isEmpty else { return }
        improveArrangements(feasibleSearch: feasibleSearch)
        for amount in amounts {
            for _ in 0..<rounds {
                var improved = improveArrangements(feasibleSearch: feasibleSearch)
                for q in queues {
                    for move in moves(ofQueue: q) where tryMove(move, amount: amount, feasibleSearch: feasibleSearch) {
                        improved = true
                    }
                }
                for a in queues where model.queues[a].isRoute {
                    for b in queues where b > a && model.queues[b].isRoute {
                        for move in exchanges(a, b) where tryMove(move, amount: amount, feasibleSearch: feasibleSearch) {
                            improved = true
                        }
                    }
                }
                if !improved { break }
                if !feasibleSearch && violation == 0 { return }
            }
        }
        if feasibleSearch { tradeSlack(busyDomains) }
    }

    /// Step sizes of the coarse and the fine share search.
    static let coarseSteps = [1.0, 0.5, 0.25]
    static let fineSteps = [0.08, 0.025, 0.008, 0.0025]
    static let snapSteps = [0.04, 0.01, 0.0025]

    /// Drops route and fork-join shares below `minimum` and renormalises each queue, then
    /// re-chooses the levels (in place when the plan stays feasible). Returns feasibility.
    mutating func dropSmallShares() -> Bool {
        var changes: [(entry: Int, share: Double)] = []
        for q in movableQueues {
            let entries = queueEntries[q]
            let kept = entries.reduce(0.0) { $0 + (share[$1] >= minimumShare($1) ? share[$1] : 0) }
            guard kept > 0 else { continue }
            for e in entries {
                let s = share[e] >= minimumShare(e) ? share[e] / kept : 0
                if s != share[e] { changes.append((e, s)) }
            }
        }
        guard !changes.isEmpty else { return isFeasible }
        setShares(changes)
        commit()
        if isFeasible {
            for d in busyDomains { relax(d) }
            commit()
            return isFeasible
        }
        return chooseLevels()
    }
}

extension PlanState {
    /// Fork-join k < n: swaps a chosen CPU for an unchosen one while host power (or the
    /// violation) falls.
    mutating func improveMembership(feasibleSearch: Bool) {
        commit()
        for q in model.queues.indices where model.queues[q].isCoded {
            var improved = true
            var rounds = 0
            while improved && rounds < 4 {
                improved = false
                rounds += 1
                for out in queueEntries[q] where share[out] > 0 {
                    for into in queueEntries[q] where share[into] == 0 {
                        let before = feasibleSearch ? power : violation
                        setShares([(out, 0), (into, 1)])
                        var ok = true
                        if feasibleSearch {
                            var touched = domains(of: [into])
                            for d in domains(of: [out]) where !touched.contains(d) { touched.append(d) }
                            for d in touched where !relax(d) {
                                ok = false
                                break
                            }
                            ok = ok && isFeasible && power < before - 1e-12 * max(1, before)
                        } else {
                            ok = violation < before - 1e-12
                        }
                        if ok {
                            commit()
                            improved = true
                            break
                        }
                        rollback()
                    }
                }
            }
        }
    }
}
