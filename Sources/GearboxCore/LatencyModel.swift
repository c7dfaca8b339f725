/// Predicted latency of one queue under a plan.
public struct QueuePrediction: Hashable, Sendable {
    public var name: String
    public var target: LatencyTarget
    /// Seconds, of the target's kind, margin included.
    public var latency: Double
    /// Margin carried by the prediction (fork-join k < n), as a fraction.
    public var margin: Double

    public init(name: String, target: LatencyTarget, latency: Double, margin: Double) {
        self.name = name
        self.target = target
        self.latency = latency
        self.margin = margin
    }

    public var meetsTarget: Bool { latency <= target.seconds * (1 + 1e-9) }
}

/// Predicted latency, utilisation and power of a whole plan (power includes what the
/// frequency switches cost, `ActuationCost`; the CPUs' watts do not).
public struct PlanPrediction: Hashable, Sendable {
    public var queues: [QueuePrediction]
    public var cpus: [CPUPlan]
    public var power: Watts
    /// Every target met and every CPU's utilisation at most `maxUtilization`.
    public var feasible: Bool
    /// The part of `power` that switching frequency costs (`ActuationCost`).
    public var switchingPower = Watts(0)
}

extension Plan {
    /// Takes its queues' targets, predicted latencies and margins, its CPUs and its power from
    /// `prediction` (made for this plan, queues in the same order). Feasibility is the
    /// caller's to decide: it may also depend on how the plan was found.
    public mutating func adopt(_ prediction: PlanPrediction) {
        for q in queues.indices where q < prediction.queues.count {
            queues[q].target = prediction.queues[q].target
            queues[q].predictedLatency = prediction.queues[q].latency
            queues[q].margin = prediction.queues[q].margin
        }
        cpus = prediction.cpus
        power = prediction.power
        switchingPower = prediction.switchingPower
    }
}

/// Evaluates a given plan with the model of docs/model.md: per-CPU multi-class M/G/1 FCFS
/// queues, Pollaczek–Khinchine means, exact percentiles of route queues by inverting the
/// Pollaczek–Khinchine transform (or guarded Cramér–Lundberg tails, which the planner's
/// search and fork-join subtasks use), fork-join with
/// independent subtasks, busy plus idle power.
///
/// Works for any plan, including frequencies off the hull (baseline governors): a
/// frequency missing from a domain's table gets the power interpolated between neighbours.
public struct LatencyModel: Sendable {
    public let platform: Platform
    public private(set) var workload: Workload
    public private(set) var configuration: PlannerConfiguration
    /// Per domain (platform order): the speed mix of its CPUs.
    public let mixes: [SpeedMix]
    /// Per CPU (ascending CPU number): its queue.
    public let servers: [ServerQueue]
    let cpuNumbers: [Int]
    /// Per CPU: its domain (platform order), if any.
    let cpuDomain: [Int?]
    /// Waiting tails of the distinct servers (identical CPUs share one), and each CPU's. Only
    /// percentile targets and fork-join queues need tails; a workload of mean targets on routed
    /// queues (the agent's kernel-only mode, re-checked every tick) leaves them empty and
    /// `tail(ofCPU:)` computes one if asked anyway.
    let waitingTails: [WaitingTail]
    let tailOfCPU: [Int]
    /// The distinct servers, in the order of `waitingTails`.
    let distinctServers: [ServerQueue]
    /// Per workload queue: its placements (identical ones merged, shares added).
    let placements: [[Placement]]
    /// What the plan's frequency switches cost (`ActuationCost`), in watts.
    public let actuationWatts: Double

    struct Placement: Hashable, Sendable {
        var cpu: Int
        var share: Double
        var classes: [GammaService]
    }

    /// Builds the per-CPU queues of `plan`.
    public init(platform: Platform, workload: Workload, plan: Plan, configuration: PlannerConfiguration = .init()) {
        self.platform = platform
        self.workload = workload
        self.configuration = configuration
        let domainPlans = LatencyModel.domainPlans(plan.domains, of: platform)
        var mixes: [SpeedMix] = []
        mixes.reserveCapacity(platform.domains.count)
        for (index, domain) in platform.domains.enumerated() {
            let domainPlan = domainPlans[index] ?? (index < plan.domains.count ? plan.domains[index] : nil)
            mixes.append(LatencyModel.mix(domain: domain, plan: domainPlan))
        }
        self.mixes = mixes
        actuationWatts = zip(platform.domains, domainPlans).reduce(0.0) { total, pair in
            total + (pair.1.map { configuration.actuation.watts(domain: pair.0, plan: $0) } ?? 0)
        }
        cpuNumbers = platform.cpus
        let cpuIndex = CPUIndex(numbers: cpuNumbers)
        var cpuDomain = [Int?](repeating: nil, count: cpuNumbers.count)
        for (d, domain) in platform.domains.enumerated() {
            for cpu in domain.cpus { if let i = cpuIndex(cpu), cpuDomain[i] == nil { cpuDomain[i] = d } }
        }
        self.cpuDomain = cpuDomain
        var classes = [[GammaService]](repeating: [], count: cpuNumbers.count)
        var raw: [[Placement]] = []
        let queuePlans = LatencyModel.queuePlans(plan.queues, of: workload)
        for (queue, queuePlan) in zip(workload.queues, queuePlans) {
            var list: [Placement] = []
            // The CPUs come in order, so copies of a CPU in a domain follow each other with one
            // share: their classes are made once.
            var last: (rate: Double, work: Double, domain: Int, classes: [GammaService])?
            for (cpu, share, rate, work) in LatencyModel.subtasks(queue: queue, plan: queuePlan) {
                guard let i = cpuIndex(cpu), let d = cpuDomain[i] else { continue }
                let own: [GammaService]
                if let last, last.rate == rate, last.work == work, last.domain == d || mixes[last.domain] == mixes[d] {
                    own = last.classes
                } else {
                    own = LatencyModel.classes(rate: rate, work: work, scv: queue.scv, mix: mixes[d])
                }
                last = (rate, work, d, own)
                // A CPU's only stream shares its classes' storage (no copy; copies of the CPU
                // then compare equal by identity).
                if classes[i].isEmpty { classes[i] = own } else { classes[i].append(contentsOf: own) }
                list.append(Placement(cpu: i, share: share, classes: own))
            }
            raw.append(list)
        }
        // Streams of one service distribution on a CPU are one Poisson stream (their rates
        // added): many queues of one shape then cost a CPU's tails no more than one.
        servers = classes.map { ServerQueue(classes: LatencyModel.merged($0)) }
        let (distinct, tailOfCPU) = LatencyModel.distinct(servers)
        let needsTails = workload.queues.contains { queue in
            if case .forkJoin = queue.dispatch { return true }
            return queue.target.kind.quantile != nil
        }
        distinctServers = distinct
        waitingTails = needsTails ? distinct.map(\.waitingTail) : []
        self.tailOfCPU = tailOfCPU
        placements = zip(workload.queues, raw).map { queue, list in
            guard case .route = queue.dispatch else { return list }
            return LatencyModel.merged(list, tailOfCPU: tailOfCPU)
        }
    }

    /// Per domain of `platform`: its plan among `plans`, the first of its name.
    static func domainPlans(_ plans: [DomainPlan], of platform: Platform) -> [DomainPlan?] {
        matched(plans, to: platform.domains, name: { $0.name }, wantedName: { $0.name })
    }

    /// Per queue of `workload`: its plan among `plans`, the first of its name.
    static func queuePlans(_ plans: [QueuePlan], of workload: Workload) -> [QueuePlan?] {
        matched(plans, to: workload.queues, name: { $0.name }, wantedName: { $0.name })
    }

    /// Per item of `wanted`: the first of `plans` with its name. Plans made for these items
    /// list them in their order: then the plan at each position is taken without looking
    /// names up. A few items of a large plan (the re-plan check judges parts of the host
    /// every tick) are found by comparing names, which beats hashing every plan's.
    static func matched<Item, Wanted>(
        _ plans: [Item], to wanted: [Wanted], name: (Item) -> String, wantedName: (Wanted) -> String
    ) -> [Item?] {
        if plans.count == wanted.count, zip(plans, wanted).allSatisfy({ name($0) == wantedName($1) }) {
            return plans
        }
        if wanted.count <= fewNames {
            return wanted.map { item in plans.first { name($0) == wantedName(item) } }
        }
        var byName: [String: Item] = [:]
        for plan in plans where byName[name(plan)] == nil { byName[name(plan)] = plan }
        return wanted.map { byName[wantedName($0)] }
    }

    /// Up to this many names are looked up by comparison rather than by a dictionary.
    static let fewNames = 8

    /// The distinct servers (identical CPUs, same domain mix and same arrivals, share one
    /// tail: large hosts repeat) and, per CPU, the index of its own among them.
    static func distinct(_ servers: [ServerQueue]) -> (distinct: [ServerQueue], indexOfCPU: [Int]) {
        var unique: [ServerQueue: Int] = [:]
        var distinct: [ServerQueue] = []
        var indexOfCPU: [Int] = []
        indexOfCPU.reserveCapacity(servers.count)
        for (i, server) in servers.enumerated() {
            // Copies of a CPU come one after another: comparing with the one before is cheaper
            // than hashing.
            if i > 0, servers[i - 1] == server {
                indexOfCPU.append(indexOfCPU[i - 1])
            } else if let k = unique[server] {
                indexOfCPU.append(k)
            } else {
                unique[server] = distinct.count
                indexOfCPU.append(distinct.count)
                distinct.append(server)
            }
        }
        return (distinct, indexOfCPU)
    }

    /// A route queue's placements with those on identical CPUs (one tail) with equal classes
    /// merged into one with the summed share, in the order of their first appearance.
    static func merged(_ list: [Placement], tailOfCPU: [Int]) -> [Placement] {
        var merged: [Placement] = []
        var index: [[GammaService]: [Int]] = [:]
        var previous: Int?
        for placement in list {
            // Copies of a CPU follow each other: they merge where the one before merged.
            if let k = previous, tailOfCPU[merged[k].cpu] == tailOfCPU[placement.cpu], merged[k].classes == placement.classes {
                merged[k].share += placement.share
            } else if let k = index[placement.classes]?.first(where: { tailOfCPU[merged[$0].cpu] == tailOfCPU[placement.cpu] }) {
                merged[k].share += placement.share
                previous = k
            } else {
                index[placement.classes, default: []].append(merged.count)
                previous = merged.count
                merged.append(placement)
            }
        }
        return merged
    }

    /// This model judging `workload` under `configuration`: the same queues with other
    /// target lengths (the planner searches shortened targets and judges the real ones, and
    /// with the exact tail where it searched with the approximation). CPUs' queues, tails and
    /// placements do not depend on either, so they are kept; nil when `workload`'s queues
    /// differ in anything but their targets' seconds, or the switching price differs.
    func judging(_ workload: Workload, configuration: PlannerConfiguration) -> LatencyModel? {
        guard workload.queues.count == self.workload.queues.count, configuration.actuation == self.configuration.actuation
        else { return nil }
        for (mine, theirs) in zip(self.workload.queues, workload.queues) {
            var same = theirs
            same.target.seconds = mine.target.seconds
            guard same == mine else { return nil }
        }
        var model = self
        model.workload = workload
        model.configuration = configuration
        return model
    }

    /// Predicts latency, utilisation and power of `plan` (the entry point for the simulator and agent).
    public static func predict(
        platform: Platform, workload: Workload, plan: Plan, configuration: PlannerConfiguration = .init()
    ) -> PlanPrediction {
        LatencyModel(platform: platform, workload: workload, plan: plan, configuration: configuration).prediction
    }

    /// The prediction for every queue (of its target's kind) and every CPU.
    public var prediction: PlanPrediction {
        // Route queues of one shape with one split (the planner gives copies one) have one
        // latency: compute it once.
        struct Shape: Hashable {
            var cpus: [Int], shares: [Double], work: Double, scv: Double, kind: LatencyKind
        }
        var known: [Shape: Double] = [:]
        let queues = workload.queues.indices.map { q in
            let queue = workload.queues[q]
            var shape: Shape?
            if case .route = queue.dispatch {
                shape = Shape(cpus: placements[q].map(\.cpu), shares: placements[q].map(\.share), work: queue.meanWork,
                              scv: queue.scv, kind: queue.target.kind)
            }
            let latency = shape.flatMap { known[$0] } ?? latency(ofQueue: q, kind: queue.target.kind)
            if let shape { known[shape] = latency }
            return QueuePrediction(name: queue.name, target: queue.target, latency: latency,
                                   margin: margin(ofQueue: q, kind: queue.target.kind))
        }
        var cpus: [CPUPlan] = []
        var total = 0.0
        for (i, server) in servers.enumerated() {
            let domain = cpuDomain[i]
            let mix = domain.map { mixes[$0] }
            let idle = domain.map { platform.domains[$0].idlePower.value } ?? 0
            let rho = server.utilization
            let busy = min(rho, 1)
            let busyPower = mix.map { $0.energyPerWork / $0.timePerWork } ?? 0
            let watts = busy * busyPower + (1 - busy) * idle
            total += watts
            cpus.append(CPUPlan(cpu: cpuNumbers[i], utilization: rho, power: Watts(watts)))
        }
        let feasible = queues.allSatisfy(\.meetsTarget)
            && cpus.allSatisfy { $0.utilization <= configuration.maxUtilization * (1 + 1e-9) }
        var prediction = PlanPrediction(queues: queues, cpus: cpus, power: Watts(total + actuationWatts), feasible: feasible)
        prediction.switchingPower = Watts(actuationWatts)
        return prediction
    }

    /// The margin (fraction) that queue `q`'s prediction of `kind` carries: fork-join k < n,
    /// at the utilisation of the busiest CPU the subtasks run on (`ForkJoinMargin`).
    public func margin(ofQueue q: Int, kind: LatencyKind) -> Double {
        guard case .forkJoin(_, let needed) = workload.queues[q].dispatch else { return 0 }
        let list = placements[q]
        let busiest = list.reduce(0.0) { max($0, servers[$1.cpu].utilization) }
        return configuration.forkJoinMarginScale * ForkJoinMargin.margin(
            kind: kind, needed: min(needed, list.count), parts: list.count, utilization: busiest)
    }

    /// Predicted latency of queue `q` in seconds, of `kind`, margin included.
    public func latency(ofQueue q: Int, kind: LatencyKind) -> Double {
        let queue = workload.queues[q]
        let list = placements[q]
        guard !list.isEmpty else { return .infinity }
        let scale = list.reduce(0.0) { $0 + $1.share * servers[$1.cpu].meanWait }
            + list.reduce(0.0) { acc, p in acc + p.share * LatencyModel.meanService(p.classes) }
        switch queue.dispatch {
        case .route:
            let total = list.reduce(0) { $0 + $1.share }
            guard total > 0 else { return .infinity }
            if let quantile = kind.quantile {
                let approximate = TailQuantile.solve(level: 1 - quantile, scale: max(scale, 1e-9)) { t in
                    list.reduce(0.0) { acc, p in
                        acc + p.share * tail(ofCPU: p.cpu).responseProbabilityExceeding(t, service: p.classes)
                    } / total
                }
                guard configuration.exactPercentileTails, approximate.isFinite else { return approximate }
                return PollaczekKhinchineTail.responseQuantile(
                    quantile, placements: list.map { (PollaczekKhinchineTail(classes: servers[$0.cpu].classes), $0.classes, $0.share) },
                    scale: approximate)
            }
            return list.reduce(0.0) { acc, p in
                acc + p.share * (servers[p.cpu].meanWait + LatencyModel.meanService(p.classes))
            } / total
        case .forkJoin(_, let needed):
            let subtasks = list.map { SubtaskResponse(wait: tail(ofCPU: $0.cpu), service: $0.classes) }
            let k = min(needed, subtasks.count)
            let raw: Double
            if let quantile = kind.quantile {
                raw = ForkJoinLatency.percentile(quantile, needed: k, subtasks: subtasks, scale: max(scale, 1e-9))
            } else {
                raw = ForkJoinLatency.meanResponse(needed: k, subtasks: subtasks, scale: max(scale, 1e-9))
            }
            return raw * (1 + margin(ofQueue: q, kind: kind))
        }
    }

    /// The waiting tail of the CPU at index `cpu`.
    func tail(ofCPU cpu: Int) -> WaitingTail {
        let k = tailOfCPU[cpu]
        return waitingTails.isEmpty ? distinctServers[k].waitingTail : waitingTails[k]
    }

    static func meanService(_ classes: [GammaService]) -> Double {
        let rate = classes.reduce(0) { $0 + $1.rate }
        guard rate > 0 else { return 0 }
        return classes.reduce(0) { $0 + $1.rate * $1.mean } / rate
    }

    /// The classes a stream of `rate` requests of mean `work` adds to a CPU running `mix`.
    static func classes(rate: Double, work: Double, scv: Double, mix: SpeedMix) -> [GammaService] {
        guard work > 0 else { return [] }
        var out: [GammaService] = []
        if mix.pHigh > 0 {
            out.append(GammaService(rate: rate * mix.pHigh, work: work, scv: scv, speed: mix.highSpeed))
        }
        if mix.pHigh < 1 {
            out.append(GammaService(rate: rate * (1 - mix.pHigh), work: work, scv: scv, speed: mix.lowSpeed))
        }
        return out
    }

    /// Per CPU that serves queue `queue` under its plan: (cpu, share, arrival rate, mean work).
    static func subtasks(queue: WorkQueue, plan: QueuePlan?) -> [(Int, Double, Double, Double)] {
        guard let plan else { return [] }
        let split = plan.split.sorted { $0.key < $1.key }
        switch queue.dispatch {
        case .route:
            return split.compactMap { cpu, share in
                share > 0 ? (cpu, share, share * queue.arrivalRate, queue.meanWork) : nil
            }
        case .forkJoin(let parts, let needed):
            if needed < parts {
                return split.map { cpu, _ in (cpu, 1, queue.arrivalRate, queue.meanWork / Double(needed)) }
            }
            return split.map { cpu, fraction in (cpu, 1, queue.arrivalRate, fraction * queue.meanWork) }
        }
    }

    /// `classes` with those of equal shape and scale merged into one, rates added, in the
    /// order of their first appearance.
    static func merged(_ classes: [GammaService]) -> [GammaService] {
        guard classes.count > 2 else { return classes }
        var out: [GammaService] = []
        for c in classes {
            if let k = out.firstIndex(where: { $0.shape == c.shape && $0.scale == c.scale }) {
                out[k] = GammaService(rate: out[k].rate + c.rate, shape: c.shape, scale: c.scale)
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// The speed mix a domain plan describes (top speed when the plan has no entry).
    static func mix(domain: FrequencyDomain, plan: DomainPlan?) -> SpeedMix {
        let high = plan?.high ?? domain.maxFrequency
        let low = plan?.low ?? high
        return SpeedMix(lowSpeed: domain.speed(at: low), highSpeed: domain.speed(at: high),
                        lowPower: power(domain: domain, at: low), highPower: power(domain: domain, at: high),
                        pHigh: plan?.pHigh ?? 1)
    }

    /// Busy power at `frequency`, interpolated between operating points when off the table.
    static func power(domain: FrequencyDomain, at frequency: Kilohertz) -> Double {
        let points = domain.operatingPoints
        if let exact = points.first(where: { $0.frequency == frequency }) { return exact.busyPower.value }
        guard let upper = points.firstIndex(where: { $0.frequency > frequency }) else {
            return points.last!.busyPower.value
        }
        if upper == 0 { return points[0].busyPower.value }
        let a = points[upper - 1], b = points[upper]
        let fraction = Double(frequency.value - a.frequency.value) / Double(b.frequency.value - a.frequency.value)
        return a.busyPower.value + fraction * (b.busyPower.value - a.busyPower.value)
    }
}
