/// The response of one subtask on one CPU: the CPU's waiting tail plus its own service.
public struct SubtaskResponse: Hashable, Sendable {
    public var wait: WaitingTail
    /// The subtask's service classes (two speeds); empty for a subtask with no work.
    public var service: [GammaService]

    public init(wait: WaitingTail, service: [GammaService]) {
        self.wait = wait
        self.service = service
    }

    /// `P(T > t)`; 0 for an empty subtask, which completes at once.
    public func probabilityExceeding(_ t: Double) -> Double {
        service.isEmpty ? 0 : wait.responseProbabilityExceeding(t, service: service)
    }
}

/// Fork-join k-of-n latency with independent subtasks (docs/model.md, "Fork-join latency").
public enum ForkJoinLatency {
    /// `P(fewer than k of the subtasks are done)` when subtask `j` is done with probability
    /// `done[j]`: the Poisson-binomial distribution, by dynamic programming over counts `< k`.
    public static func probabilityFewerThan(_ needed: Int, done: [Double]) -> Double {
        guard needed > 0 else { return 0 }
        if needed == done.count {
            var all = 1.0
            for d in done { all *= d }
            return 1 - all
        }
        // counts[j] = P(exactly j done among those seen), for j < needed.
        var counts = [Double](repeating: 0, count: needed)
        counts[0] = 1
        for d in done {
            var j = needed - 1
            while j > 0 {
                counts[j] = counts[j] * (1 - d) + counts[j - 1] * d
                j -= 1
            }
            counts[0] *= 1 - d
        }
        return min(1, max(0, counts.reduce(0, +)))
    }

    /// `P(fewer than k done by t)` for the subtasks' responses.
    public static func probabilityExceeding(_ t: Double, needed: Int, subtasks: [SubtaskResponse]) -> Double {
        DistinctSubtasks(subtasks).probabilityFewerThan(needed, doneBy: t)
    }

    /// Mean response `∫_0^∞ P(fewer than k done by t) dt`; `scale` is a guess of its size.
    public static func meanResponse(needed: Int, subtasks: [SubtaskResponse], scale: Double) -> Double {
        let distinct = DistinctSubtasks(subtasks)
        return integrateTail(scale: scale) { distinct.probabilityFewerThan(needed, doneBy: $0) }
    }

    /// The time by which `k` subtasks are done with probability `quantile`.
    public static func percentile(_ quantile: Double, needed: Int, subtasks: [SubtaskResponse], scale: Double) -> Double {
        let distinct = DistinctSubtasks(subtasks)
        return TailQuantile.solve(level: 1 - quantile, scale: scale) {
            distinct.probabilityFewerThan(needed, doneBy: $0)
        }
    }

    /// Subtasks with equal response distributions (parts on identical CPUs of one domain,
    /// the common case) evaluated once per `t`: the tails are the expensive part.
    struct DistinctSubtasks {
        var distinct: [SubtaskResponse] = []
        var multiplicity: [Int] = []
        var indexOfSubtask: [Int] = []

        init(_ subtasks: [SubtaskResponse]) {
            var seen: [SubtaskResponse: Int] = [:]
            for subtask in subtasks {
                if let i = seen[subtask] {
                    indexOfSubtask.append(i)
                    multiplicity[i] += 1
                } else {
                    seen[subtask] = distinct.count
                    indexOfSubtask.append(distinct.count)
                    distinct.append(subtask)
                    multiplicity.append(1)
                }
            }
        }

        func probabilityFewerThan(_ needed: Int, doneBy t: Double) -> Double {
            guard needed > 0 else { return 0 }
            if needed >= indexOfSubtask.count {
                // k = n: one minus the chance that all are done (k > n: never done).
                guard needed == indexOfSubtask.count else { return 1 }
                var all = 1.0
                for (j, subtask) in distinct.enumerated() {
                    let done = 1 - subtask.probabilityExceeding(t)
                    for _ in 0..<multiplicity[j] { all *= done }
                }
                return 1 - all
            }
            let done = distinct.map { 1 - $0.probabilityExceeding(t) }
            return ForkJoinLatency.probabilityFewerThan(needed, done: indexOfSubtask.map { done[$0] })
        }
    }

    /// `∫_0^∞ tail(t) dt` for a decreasing tail: 8-point Gauss–Legendre on 32 panels up to
    /// where the tail is below 1e-12, which is exact to about 1e-10 for exponential-like
    /// tails. The end is the first power of two (in microseconds) past that point, found the
    /// same way whatever `scale` says, so that every caller integrates on the same grid.
    public static func integrateTail(scale: Double, tail: (Double) -> Double) -> Double {
        let unit = 1e-6
        var end = unit
        while end * 2 < scale { end *= 2 }
        var steps = 0
        while tail(end) > 1e-12 {
            end *= 2
            steps += 1
            if steps > 200 || !end.isFinite { return .infinity }
        }
        while end > unit && tail(end / 2) <= 1e-12 { end /= 2 }
        let panels = 32
        let width = end / Double(panels)
        var total = 0.0
        for panel in 0..<panels {
            let mid = (Double(panel) + 0.5) * width
            var sum = 0.0
            for (node, weight) in gaussLegendre8 {
                sum += weight * (tail(mid + node * width / 2) + tail(mid - node * width / 2))
            }
            total += sum * width / 2
        }
        return total
    }

    /// Positive nodes and weights of 8-point Gauss–Legendre on [-1, 1].
    static let gaussLegendre8: [(Double, Double)] = [
        (0.1834346424956498, 0.3626837833783620),
        (0.5255324099163290, 0.3137066458778873),
        (0.7966664774136267, 0.2223810344533745),
        (0.9602898564975363, 0.1012285362903763),
    ]
}
