/// Splitting a host into parts that can be planned on their own, and merging identical
/// domains inside a part. Both are exact simplifications of the search space, not of the
/// model: the plan of a part does not depend on other parts, and a merged domain's copies
/// all get its plan (the split of a merged CPU is shared evenly among its copies).
extension PlanningModel {
    /// Domains linked by queues that may use them, and those queues.
    struct Part: Sendable {
        var domains: [Int]
        var queues: [Int]
    }

    /// A part as its own model: `domains[r]` are the original domains that representative
    /// `r` stands for, `cpus[i]` the original CPUs that CPU `i` stands for (one per copy,
    /// in the order of `domains`), `queues[q]` the original queue.
    struct Restriction: Sendable {
        var model: PlanningModel
        var domains: [[Int]]
        var cpus: [[Int]]
        var queues: [Int]
    }

    /// The connected parts of the host (domains without queues are left out), in order of
    /// their first domain.
    func parts() -> [Part] {
        var root = Array(domains.indices)
        func find(_ d: Int) -> Int {
            var d = d
            while root[d] != d { d = root[d] }
            return d
        }
        for queue in queues {
            let touched = Set(queue.cpus.map { cpuDomain[$0] }).sorted()
            for d in touched.dropFirst() {
                let (a, b) = (find(touched[0]), find(d))
                if a != b { root[max(a, b)] = min(a, b) }
            }
        }
        var parts: [Int: Part] = [:]
        for (q, queue) in queues.enumerated() {
            guard let first = queue.cpus.first else { continue }
            let r = find(cpuDomain[first])
            parts[r, default: Part(domains: [], queues: [])].queues.append(q)
        }
        for d in domains.indices where parts[find(d)] != nil { parts[find(d)]!.domains.append(d) }
        return parts.keys.sorted().map { parts[$0]! }
    }

    /// Part `part` as a model; with `merge`, domains that are identical in every respect the
    /// model sees (hull, idle power, CPUs, which queues may use each CPU) become one.
    func restricted(to part: Part, merge: Bool) -> Restriction {
        // Per CPU, the part's queues (local numbers) allowed on it.
        var allowed = [[Int]](repeating: [], count: cpuNumber.count)
        for (local, q) in part.queues.enumerated() {
            for i in queues[q].cpus { allowed[i].append(local) }
        }
        // Per domain, the queues allowed on each of its CPUs (by position).
        func pattern(_ d: Int) -> [[Int]] { domains[d].cpus.map { allowed[$0] } }
        func same(_ a: Int, _ b: Int) -> Bool {
            let x = domains[a], y = domains[b]
            return x.cpus.count == y.cpus.count && x.idle == y.idle && x.pureOnly == y.pureOnly
                && x.transitionLatency == y.transitionLatency && pattern(a) == pattern(b) && x.hull == y.hull
        }
        var identical: [[Int]] = []
        for d in part.domains {
            if merge, let k = identical.firstIndex(where: { same($0[0], d) }) { identical[k].append(d) } else { identical.append([d]) }
        }
        // Copies of a domain several queues may use can specialise (one queue's domains,
        // another's) at different levels, which one merged plan cannot express: such a
        // group becomes one class per queue that may use it, of near-equal sizes.
        var classes: [[Int]] = []
        for group in identical {
            let queuesThere = Set(pattern(group[0]).joined()).count
            let count = min(group.count, max(1, queuesThere))
            let size = group.count / count, extra = group.count % count
            var start = 0
            for k in 0..<count {
                let end = start + size + (k < extra ? 1 : 0)
                classes.append(Array(group[start..<end]))
                start = end
            }
        }
        var model = self
        model.domains = []
        model.cpuDomain = []
        model.cpuNumber = []
        var cpus: [[Int]] = []
        var newIndex: [Int: Int] = [:]
        for (r, members) in classes.enumerated() {
            var domain = domains[members[0]]
            let positions = domain.cpus
            domain.cpus = []
            domain.multiplicity = members.count
            for (position, i) in positions.enumerated() {
                newIndex[i] = cpus.count
                domain.cpus.append(cpus.count)
                model.cpuDomain.append(r)
                model.cpuNumber.append(cpuNumber[i])
                cpus.append(members.map { domains[$0].cpus[position] })
            }
            model.domains.append(domain)
        }
        model.queues = part.queues.map { q in
            var queue = queues[q]
            queue.cpus = queue.cpus.compactMap { newIndex[$0] }.sorted()
            return queue
        }
        return Restriction(model: model, domains: classes, cpus: cpus, queues: part.queues)
    }
}
