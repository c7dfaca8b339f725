import GearboxCore

/// The exhaustive oracle of issue 2 for small route instances: every hull pair with `p` on a
/// grid, every split of each queue over its domains on a grid, and inside a domain either
/// both queues spread evenly over all its CPUs or kept apart on every possible CPU partition.
/// Energy is the minimum over that grid; it is built only from the public queueing
/// primitives (`GammaService`, `ServerQueue`, `WaitingTail`), not from the planner.
struct Oracle {
    struct Result {
        var feasible: Bool
        var power: Double
        /// The least worst normalised latency at top speed over the split grid (≤ 1: feasible).
        var bestTopValue: Double
        var evaluations: Int
        var best: String
    }

    let platform: Platform
    let workload: Workload
    /// Grid steps: shares in 1/splitSteps, p in 1/pSteps.
    let splitSteps: Int
    let pSteps: Int
    let maxUtilization = 0.95

    /// One choice for one domain: its power and each queue's Σ x T (or Σ x P(T > D)).
    struct Entry {
        var power: Double
        var contribution: [Double]
        var top: Bool
        var description: String
    }

    /// Levels of domain `d` worth trying: hull pairs with p on the grid, no slower than the
    /// cheapest vertex (slower costs more and is slower).
    func levels(_ d: Int) -> [SpeedMix] {
        let domain = platform.domains[d]
        let hull = domain.hull.points
        let idle = domain.idlePower.value
        let cheapest = hull.indices.min { (hull[$0].busyPower.value - idle) / hull[$0].speed < (hull[$1].busyPower.value - idle) / hull[$1].speed }!
        var out = [SpeedMix(pure: hull[hull.count - 1])]
        var j = hull.count - 1
        while j > cheapest {
            for step in stride(from: pSteps - 1, through: 0, by: -1) {
                out.append(SpeedMix(low: hull[j - 1], high: hull[j], pHigh: Double(step) / Double(pSteps)))
            }
            j -= 1
        }
        return out
    }

    /// Per-CPU loads (one rate per queue) for a domain's shares and a pattern.
    func patterns(cpus: Int, shares: [Double]) -> [[[Double]]] {
        let queues = shares.indices.filter { shares[$0] > 0 }
        let even = (0..<cpus).map { _ in shares.map { $0 / Double(cpus) } }
        guard queues.count == 2, cpus > 1 else { return [even] }
        var out = [even]
        let (a, b) = (queues[0], queues[1])
        for split in 1..<cpus {
            out.append((0..<cpus).map { i in
                var row = [Double](repeating: 0, count: shares.count)
                if i < split { row[a] = shares[a] / Double(split) } else { row[b] = shares[b] / Double(cpus - split) }
                return row
            })
        }
        return out
    }

    /// Utilisation and each queue's measure on one CPU.
    func evaluateCPU(mix: SpeedMix, rates: [Double]) -> (rho: Double, measures: [Double]) {
        var classes: [GammaService] = []
        var own: [[GammaService]] = []
        for (q, queue) in workload.queues.enumerated() {
            var mine: [GammaService] = []
            for (speed, probability) in [(mix.highSpeed, mix.pHigh), (mix.lowSpeed, 1 - mix.pHigh)] where probability > 0 {
                mine.append(GammaService(rate: rates[q] * probability, work: queue.meanWork, scv: queue.scv, speed: speed))
            }
            own.append(mine)
            if rates[q] > 0 { classes += mine }
        }
        let server = ServerQueue(classes: classes)
        let rho = server.utilization
        guard rho < 1 else { return (rho, workload.queues.map { _ in .infinity }) }
        let tail = workload.queues.contains { $0.target.kind != .mean } ? server.waitingTail : nil
        let measures = workload.queues.indices.map { q -> Double in
            guard rates[q] > 0 else { return 0 }
            let queue = workload.queues[q]
            if let quantile = queue.target.kind.quantile {
                _ = quantile
                return tail!.responseProbabilityExceeding(queue.target.seconds, service: own[q])
            }
            let service = own[q].reduce(0.0) { $0 + $1.rate * $1.mean } / own[q].reduce(0.0) { $0 + $1.rate }
            return server.meanWait + service
        }
        return (rho, measures)
    }

    func run() -> Result {
        let queues = workload.queues
        let domainCount = platform.domains.count
        // Which domains each queue may use (whole domains in oracle instances).
        let allowed = queues.map { queue in
            (0..<domainCount).filter { d in platform.domains[d].cpus.allSatisfy { (queue.cpus ?? platform.cpus).contains($0) } }
        }
        var evaluations = 0
        var memo: [String: (Double, [Double])] = [:]
        // Per domain, per share vector: the entries over patterns and levels.
        var tables: [[String: [Entry]]] = Array(repeating: [:], count: domainCount)
        func table(_ d: Int, _ shares: [Double]) -> [Entry] {
            let key = shares.map { String($0) }.joined(separator: ",")
            if let known = tables[d][key] { return known }
            let domain = platform.domains[d]
            let work = zip(queues, shares).reduce(0.0) { $0 + $1.0.arrivalRate * $1.1 * $1.0.meanWork }
            let idle = domain.idlePower.value * Double(domain.cpus.count)
            var entries: [Entry] = []
            let mixes = work > 0 ? levels(d) : [SpeedMix(pure: domain.hull.points[0])]
            for (index, mix) in mixes.enumerated() {
                let power = idle + work * (mix.energyPerWork - domain.idlePower.value * mix.timePerWork)
                for (patternIndex, pattern) in patterns(cpus: domain.cpus.count, shares: shares).enumerated() {
                    var contribution = [Double](repeating: 0, count: queues.count)
                    var ok = true
                    for row in pattern {
                        let rates = zip(queues, row).map { $0.0.arrivalRate * $0.1 }
                        let key = "\(d)|\(index)|\(rates)"
                        let (rho, measures): (Double, [Double])
                        if let known = memo[key] { (rho, measures) = known } else {
                            (rho, measures) = evaluateCPU(mix: mix, rates: rates)
                            memo[key] = (rho, measures)
                            evaluations += 1
                        }
                        if rho > maxUtilization { ok = false; break }
                        for q in queues.indices where row[q] > 0 { contribution[q] += row[q] * measures[q] }
                    }
                    if ok { entries.append(Entry(power: power, contribution: contribution, top: index == 0 || work == 0,
                                                  description: "d\(d) shares \(shares) pattern \(patternIndex) L \(mix.lowSpeed) H \(mix.highSpeed) p \(mix.pHigh) power \(power) c \(contribution)")) }
                }
            }
            entries.sort { $0.power < $1.power }
            tables[d][key] = entries
            return entries
        }
        let budgets = queues.map { $0.target.kind.quantile.map { 1 - $0 } ?? $0.target.seconds }
        var bestPower = Double.infinity
        var bestTop = Double.infinity
        var bestDescription = ""
        // Every grid split of every queue over its domains.
        func compositions(_ parts: Int, _ total: Int) -> [[Int]] {
            if parts == 1 { return [[total]] }
            return (0...total).flatMap { first in compositions(parts - 1, total - first).map { [first] + $0 } }
        }
        let perQueue = allowed.map { compositions($0.count, splitSteps) }
        func forEachSplit(_ q: Int, _ current: [[Double]], _ body: ([[Double]]) -> Void) {
            if q == queues.count { body(current); return }
            for composition in perQueue[q] {
                var next = current
                for (k, d) in allowed[q].enumerated() { next[d][q] = Double(composition[k]) / Double(splitSteps) }
                forEachSplit(q + 1, next, body)
            }
        }
        let empty = [[Double]](repeating: [Double](repeating: 0, count: queues.count), count: domainCount)
        forEachSplit(0, empty) { shares in
            let lists = (0..<domainCount).map { table($0, shares[$0]) }
            // Branch and bound over domains: entries sorted by power, contributions only add.
            let floorPower = lists.map { $0.first?.power ?? .infinity }
            var suffix = [Double](repeating: 0, count: domainCount + 1)
            for d in stride(from: domainCount - 1, through: 0, by: -1) { suffix[d] = suffix[d + 1] + floorPower[d] }
            var chosen: [String] = []
            func search(_ d: Int, _ power: Double, _ used: [Double]) {
                if d == domainCount {
                    if power < bestPower {
                        bestPower = power
                        bestDescription = chosen.joined(separator: "\n")
                    }
                    return
                }
                for entry in lists[d] {
                    if power + entry.power + suffix[d + 1] >= bestPower { break }
                    var next = used
                    var ok = true
                    for q in queues.indices {
                        next[q] += entry.contribution[q]
                        if next[q] > budgets[q] * (1 + 1e-12) { ok = false; break }
                    }
                    if ok {
                        chosen.append(entry.description)
                        search(d + 1, power + entry.power, next)
                        chosen.removeLast()
                    }
                }
            }
            search(0, 0, [Double](repeating: 0, count: queues.count))
            // Top speed everywhere: the best worst normalised latency over patterns.
            func top(_ d: Int, _ used: [Double]) {
                if d == domainCount {
                    bestTop = min(bestTop, queues.indices.map { used[$0] / budgets[$0] }.max() ?? 0)
                    return
                }
                for entry in lists[d] where entry.top {
                    top(d + 1, zip(used, entry.contribution).map { $0 + $1 })
                }
            }
            top(0, [Double](repeating: 0, count: queues.count))
        }
        return Result(feasible: bestPower.isFinite, power: bestPower, bestTopValue: bestTop, evaluations: evaluations, best: bestDescription)
    }
}
