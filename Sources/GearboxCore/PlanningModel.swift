/// The platform and workload as flat arrays indexed by position, for the optimiser.
///
/// CPUs are numbered 0..<n in ascending Linux CPU order; every list is sorted, so that
/// the search never depends on dictionary order (same input, bit-identical plan).
struct PlanningModel: Hashable, Sendable {
    struct Domain: Hashable, Sendable {
        var name: String
        var cpus: [Int]
        var hull: PowerHull
        /// `1 / s_j` per hull point (descending), `1 / s_j²` and `P_j / s_j`.
        var times: [Double]
        var squaredTimes: [Double]
        var energies: [Double]
        var idle: Double
        /// `t` at the top and bottom hull point.
        var fastest: Double
        var slowest: Double
        /// `t` of the hull point that minimises busy-minus-idle energy per work
        /// (race to idle: never worth running slower than this).
        var cheapest: Double
        /// The domain cannot realise a two-speed mix (docs/model.md: dither bounds cross).
        var pureOnly: Bool
        var transitionLatency: Double?
        /// Identical domains planned as one: this many copies share the representative's plan.
        var multiplicity = 1
    }

    enum Kind: Hashable, Sendable { case route, forkJoin(parts: Int, needed: Int) }

    struct Queue: Hashable, Sendable {
        var name: String
        var rate: Double
        var work: Double
        var scv: Double
        var target: LatencyTarget
        var kind: Kind
        /// CPUs the queue may use (internal indices, ascending).
        var cpus: [Int]
        /// Deadline the model is checked at: the target divided by 1 + margin.
        var deadline: Double
        var margin: Double

        var quantile: Double? { target.kind.quantile }
        var isRoute: Bool { if case .route = kind { true } else { false } }
        /// Fork-join parts that are needed (k) and sent (n); (1, 1) for route.
        var parts: (n: Int, k: Int) {
            switch kind {
            case .route: (1, 1)
            case .forkJoin(let n, let k): (min(n, cpus.count), min(k, n, cpus.count))
            }
        }
        var isCoded: Bool { parts.k < parts.n }
    }

    var domains: [Domain]
    var queues: [Queue]
    /// Per CPU: its domain, its Linux number.
    var cpuDomain: [Int]
    var cpuNumber: [Int]
    /// Per CPU: how many identical CPUs of its domain it stands for (a class planned as one,
    /// `PlanningModel+Parts.swift`); its route share is spread evenly over them.
    var cpuCopies: [Int]
    var configuration: PlannerConfiguration

    /// `assumedLoad`: the utilisation the fork-join k < n margins are taken at (the plan's
    /// real load is not known before it is made; `LatencyModel` checks the result at it).
    init(platform: Platform, workload: Workload, configuration: PlannerConfiguration, assumedLoad: Double? = nil) {
        self.configuration = configuration
        cpuNumber = platform.cpus
        let index = CPUIndex(numbers: cpuNumber)
        cpuDomain = [Int](repeating: 0, count: cpuNumber.count)
        cpuCopies = [Int](repeating: 1, count: cpuNumber.count)
        domains = []
        domains.reserveCapacity(platform.domains.count)
        var shapes = DomainShapes()
        for (d, domain) in platform.domains.enumerated() {
            var model = shapes.shape(of: domain)
            model.name = domain.name
            model.cpus = index.indices(of: domain.cpus)
            for i in model.cpus { cpuDomain[i] = d }
            domains.append(model)
        }
        queues = workload.queues.map { queue in
            let kind: Kind
            var margin = 0.0
            switch queue.dispatch {
            case .route: kind = .route
            case .forkJoin(let n, let k):
                kind = .forkJoin(parts: n, needed: k)
            }
            let cpus = index.indices(of: queue.allowedCPUs(on: platform))
            if case .forkJoin(let n, let k) = kind {
                let parts = min(n, cpus.count)
                margin = configuration.forkJoinMarginScale * ForkJoinMargin.margin(
                    kind: queue.target.kind, needed: min(k, parts), parts: parts,
                    utilization: assumedLoad ?? configuration.maxUtilization)
            }
            return Queue(
                name: queue.name, rate: queue.arrivalRate, work: queue.meanWork, scv: queue.scv, target: queue.target,
                kind: kind, cpus: cpus, deadline: queue.target.seconds / (1 + margin), margin: margin)
        }
    }

    /// Hashes what tells the parts of one host apart (`PartPlanCache` keys): the queues'
    /// figures and the domains' names; equality still compares everything.
    func hash(into hasher: inout Hasher) {
        hasher.combine(domains.count)
        for domain in domains { hasher.combine(domain.name) }
        for queue in queues {
            hasher.combine(queue.name)
            hasher.combine(queue.rate)
            hasher.combine(queue.work)
            hasher.combine(queue.deadline)
        }
    }

    /// The speed mix a domain runs at mean time per work `t` (clamped to its hull).
    func mix(domain d: Int, time t: Double) -> SpeedMix {
        let domain = domains[d]
        let points = domain.hull.points
        if points.count == 1 || t <= domain.fastest { return SpeedMix(pure: points[points.count - 1]) }
        if t >= domain.slowest { return SpeedMix(pure: points[0]) }
        // times are descending: find j with times[j] ≥ t ≥ times[j + 1].
        var j = 0
        while domain.times[j + 1] > t { j += 1 }
        let p = (domain.times[j] - t) / (domain.times[j] - domain.times[j + 1])
        if p <= 0 { return SpeedMix(pure: points[j]) }
        if p >= 1 { return SpeedMix(pure: points[j + 1]) }
        return SpeedMix(low: points[j], high: points[j + 1], pHigh: p)
    }

    /// Busy-minus-idle energy per ref-s of work at `t` (host power is Σ_d W_d g_d(t_d) + idle).
    func marginalEnergy(domain d: Int, time t: Double) -> Double {
        let m = mix(domain: d, time: t)
        return m.energyPerWork - domains[d].idle * m.timePerWork
    }

    /// CPUs domain `d` stands for in one copy (its classes' sizes added up).
    func cpuCount(domain d: Int) -> Int {
        domains[d].cpus.reduce(0) { $0 + cpuCopies[$1] }
    }

    /// `t` values of the domain's hull points, fastest first.
    func vertices(domain d: Int) -> [Double] { domains[d].times.reversed() }
}
