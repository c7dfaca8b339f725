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
    /// `r` stands for, `cpus[i]` the original CPUs that CPU `i` stands for (its class in
    /// each copy, in the order of `domains`), `queues[q]` the first original queue it stands for.
    struct Restriction: Sendable {
        var model: PlanningModel
        var domains: [[Int]]
        var cpus: [[Int]]
        var queues: [Int]
        /// Per queue of the part: the original queues it stands for (same shape, rates added).
        var queueMembers: [[Int]]
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
        for q in queues.indices {
            let touched = Self.distinctSorted(queues[q].cpus.map { cpuDomain[$0] })
            for d in touched.dropFirst() {
                let (a, b) = (find(touched[0]), find(d))
                if a != b { root[max(a, b)] = min(a, b) }
            }
        }
        // Per root domain: its part, when a queue reaches it.
        var parts = [Part?](repeating: nil, count: domains.count)
        for q in queues.indices {
            guard let first = queues[q].cpus.first else { continue }
            let r = find(cpuDomain[first])
            if parts[r] == nil { parts[r] = Part(domains: [], queues: []) }
            parts[r]!.queues.append(q)
        }
        for d in domains.indices where parts[find(d)] != nil { parts[find(d)]!.domains.append(d) }
        return parts.compactMap { $0 }
    }

    /// Part `part` as a model; with `merge`, domains that are identical in every respect the
    /// model sees (hull, idle power, CPUs, which queues may use each CPU) become one.
    func restricted(to part: Part, merge: Bool) -> Restriction {
        // Per CPU, the part's queues (local numbers) allowed on it: `lists[allowed[i]]`.
        let (lists, allowed) = allowedQueues(part)
        // Whether CPUs at the same positions of two domains (of as many CPUs) allow the same queues.
        func samePattern(_ a: Int, _ b: Int) -> Bool {
            zip(domains[a].cpus, domains[b].cpus).allSatisfy { allowed[$0] == allowed[$1] }
        }
        func same(_ a: Int, _ b: Int) -> Bool {
            domains[a].cpus.count == domains[b].cpus.count && domains[a].idle == domains[b].idle
                && domains[a].pureOnly == domains[b].pureOnly && domains[a].transitionLatency == domains[b].transitionLatency
                && samePattern(a, b) && domains[a].hull == domains[b].hull
        }
        // Queues of the same shape (route, same work, SCV, target and CPUs) are planned as one
        // with their rates added: given one split, each sees exactly the merged queue's
        // latency, and splitting them differently cannot help, since with one target the
        // worse of two queues is at least their rate-weighted average (latency is linear in
        // each queue's shares for given CPU loads).
        var queueMembers: [[Int]] = []
        // Per local queue: the merged queue it belongs to.
        var mergedOf = [Int](repeating: 0, count: part.queues.count)
        for (local, q) in part.queues.enumerated() {
            if let k = queueMembers.firstIndex(where: { sameShape(queues[$0[0]], queues[q]) }) {
                queueMembers[k].append(q)
                mergedOf[local] = k
            } else {
                mergedOf[local] = queueMembers.count
                queueMembers.append([q])
            }
        }
        var identical: [[Int]] = []
        for d in part.domains {
            if merge, let k = identical.firstIndex(where: { same($0[0], d) }) { identical[k].append(d) } else { identical.append([d]) }
        }
        // Copies of a domain several queues may use can specialise (one queue's domains,
        // another's) at different levels, which one merged plan cannot express: such a
        // group becomes one class per queue (of distinct shape) that may use it, of near-equal sizes.
        var classes: [[Int]] = []
        for group in identical {
            let queuesThere = Self.distinctSorted(domains[group[0]].cpus.flatMap { lists[allowed[$0]].map { mergedOf[$0] } }).count
            let count = min(group.count, max(1, queuesThere))
            let size = group.count / count, extra = group.count % count
            var start = 0
            for k in 0..<count {
                let end = start + size + (k < extra ? 1 : 0)
                classes.append(Array(group[start..<end]))
                start = end
            }
        }
        let collapse = part.queues.allSatisfy { queues[$0].isRoute }
        // Per list of allowed queues: the merged queues it allows (what tells CPUs apart), as a
        // number (equal sets of merged queues, one number); per number, how many queues.
        var numberOfShape: [[Int]: Int] = [:]
        var queueCounts: [Int] = []
        let shapeOfList = lists.map { list in
            let shape = Self.distinctSorted(list.map { mergedOf[$0] })
            if let known = numberOfShape[shape] { return known }
            numberOfShape[shape] = queueCounts.count
            queueCounts.append(shape.count)
            return queueCounts.count - 1
        }
        var model = self
        model.domains = []
        model.cpuDomain = []
        model.cpuNumber = []
        model.cpuCopies = []
        model.domains.reserveCapacity(classes.count)
        var cpus: [[Int]] = []
        // Per original CPU: the CPU class of the part that stands for it (-1: none).
        var newIndex = [Int](repeating: -1, count: cpuNumber.count)
        for (r, members) in classes.enumerated() {
            var domain = domains[members[0]]
            let positions = domain.cpus
            domain.cpus = []
            domain.multiplicity = members.count
            let shapes = positions.map { shapeOfList[allowed[$0]] }
            for group in cpuClasses(pattern: shapes, queueCounts: queueCounts, collapse: collapse) {
                let index = cpus.count
                for position in group { newIndex[positions[position]] = index }
                domain.cpus.append(index)
                model.cpuDomain.append(r)
                model.cpuNumber.append(cpuNumber[positions[group[0]]])
                model.cpuCopies.append(group.count)
                var stoodFor: [Int] = []
                stoodFor.reserveCapacity(members.count * group.count)
                for d in members {
                    for position in group { stoodFor.append(domains[d].cpus[position]) }
                }
                cpus.append(stoodFor)
            }
            model.domains.append(domain)
        }
        model.queues = queueMembers.map { members in
            var queue = queues[members[0]]
            queue.rate = members.reduce(0) { $0 + queues[$1].rate }
            // A CPU class appears once however many of its CPUs the queue may use.
            queue.cpus = Self.distinctSorted(queue.cpus.compactMap { newIndex[$0] >= 0 ? newIndex[$0] : nil })
            return queue
        }
        return Restriction(model: model, domains: classes, cpus: cpus, queues: queueMembers.map { $0[0] },
                           queueMembers: queueMembers)
    }

    /// The lists of the part's queues (local numbers, in order) that CPUs allow, and per CPU
    /// of the host the position of its list (0: the empty list). Equal lists are one entry,
    /// so that CPUs compare by position, and large hosts (whose CPUs allow few distinct
    /// lists) build few lists.
    func allowedQueues(_ part: Part) -> (lists: [[Int]], ofCPU: [Int]) {
        var lists: [[Int]] = [[]]
        var ofCPU = [Int](repeating: 0, count: cpuNumber.count)
        for (local, q) in part.queues.enumerated() {
            // Per list before this queue: the list with it appended, once made (-1: not yet).
            var extended: [Int] = []
            for i in queues[q].cpus {
                let before = ofCPU[i]
                if before >= extended.count { extended.append(contentsOf: repeatElement(-1, count: before - extended.count + 1)) }
                if extended[before] < 0 {
                    extended[before] = lists.count
                    lists.append(lists[before] + [local])
                }
                ofCPU[i] = extended[before]
            }
        }
        return (lists, ofCPU)
    }

    /// `values` ascending without repeats (what `Set(values).sorted()` gives, without hashing:
    /// the lists here are short, or already sorted).
    static func distinctSorted(_ values: [Int]) -> [Int] {
        var out = values.sorted()
        guard out.count > 1 else { return out }
        var kept = 1
        for i in 1..<out.count where out[i] != out[kept - 1] {
            out[kept] = out[i]
            kept += 1
        }
        out.removeLast(out.count - kept)
        return out
    }

    /// Two queues the search can plan as one (see `restricted`).
    func sameShape(_ a: Queue, _ b: Queue) -> Bool {
        a.isRoute && b.isRoute && a.work == b.work && a.scv == b.scv && a.target == b.target && a.cpus == b.cpus
            && a.deadline == b.deadline && a.margin == b.margin
    }

    /// Classes of a domain's identical CPUs (positions with the same allowed queues), as lists
    /// of positions; `pattern[position]` numbers the queues allowed there (equal numbers,
    /// equal queues), `queueCounts[number]` says how many they are. CPUs only one queue may
    /// use form one class: latency is convex in load, so an even spread over them is best.
    /// CPUs several queues share stay single up to `PlannerConfiguration.cpuClassLimit`;
    /// beyond, they form that many classes of near-equal size, so that the cost grows with
    /// the number of classes, not of CPUs.
    /// Without `collapse` (fork-join queues place subtasks on distinct CPUs) every CPU stays
    /// its own class.
    func cpuClasses(pattern: [Int], queueCounts: [Int], collapse: Bool) -> [[Int]] {
        guard collapse else { return pattern.indices.map { [$0] } }
        // Per pattern, in order of first appearance: its positions.
        var shapes: [Int] = []
        var members = [[Int]](repeating: [], count: queueCounts.count)
        for (position, shape) in pattern.enumerated() {
            if members[shape].isEmpty { shapes.append(shape) }
            members[shape].append(position)
        }
        var out: [[Int]] = []
        for shape in shapes {
            let positions = members[shape]
            if queueCounts[shape] <= 1 {
                out.append(positions)
            } else if positions.count <= configuration.cpuClassLimit {
                out.append(contentsOf: positions.map { [$0] })
            } else {
                // Near-equal classes, the larger and smaller alternating, so that the
                // arrangements' head and tail partitions reach many CPU counts.
                let count = configuration.cpuClassLimit
                let size = positions.count / count, extra = positions.count % count
                var order: [Bool] = []
                var (big, small) = (extra, count - extra)
                while big + small > 0 {
                    if big > 0 && (order.last != true || small == 0) { order.append(true); big -= 1 } else { order.append(false); small -= 1 }
                }
                var start = 0
                for isLarger in order {
                    let end = start + size + (isLarger ? 1 : 0)
                    out.append(Array(positions[start..<end]))
                    start = end
                }
            }
        }
        return out
    }
}
