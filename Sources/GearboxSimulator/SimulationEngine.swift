import GearboxCore

/// The discrete-event engine behind `Simulator`: one run of one policy.
///
/// Timers, in this order: one per CPU (its job's completion), one per queue (its next
/// arrival), one per domain (its next time-share switch), one per domain (a frequency
/// transition coming into effect), the policy's tick, and the end of the warm-up.
struct SimulationEngine {
    let platform: Platform
    let workload: Workload
    let configuration: SimulationConfiguration
    let policy: GovernorPolicy
    /// The plan for the true rates, when the caller computed it already.
    let givenReferencePlan: Plan?
    let models: [DomainModel]
    /// Every domain's operating points in flat tables (hot-path reads without copying a
    /// `DomainModel`): domain d's point j is at `pointBase[d] + j`.
    let pointSpeed: [Double]
    let pointPower: [Double]
    let pointFraction: [Double]
    let pointKilohertz: [Double]
    let idlePower: [Double]
    /// Linux CPU number of each engine CPU index.
    let cpuNumbers: [Int]
    let cpuIndex: [Int: Int]

    var cpus: [CPUState]
    var waiting: [JobQueue]
    var domains: [DomainState]
    var queues: [QueueState]
    var requests = RequestPool()
    var timers: TimerHeap
    var now = 0.0
    var events = 0
    var routing: RandomStream
    var speedDraws: RandomStream
    var phases: RandomStream

    // gearbox and oracle
    var estimator: WorkloadEstimator
    var plannedWorkload: Workload?
    /// gearbox's installed plan, its queue targets the real ones (headroom is how it was made).
    var currentPlan: Plan?
    var plans = 0
    var lastPlanFeasible: Bool?
    var lastTick = 0.0
    /// gearbox's correction of its planning targets from measured latency.
    var feedback: LatencyFeedback?
    var feedbackMoves: [FeedbackMove] = []
    /// gearbox's measure of each queue's arrival burstiness, and the index its plan used.
    var dispersions: [ArrivalDispersion] = []
    var plannedIndices: [Double] = []
    /// The plan in force dropped a correction to stay feasible (`correctedPlan`): feedback
    /// is then saturated and does not tighten further.
    var correctionsDropped = false
    /// Per queue, the CPUs the plan in force keeps it off for their backlog
    /// (`backlogAwarePlan`).
    var backlogRestriction: [Int: Set<Int>] = [:]

    let arrivalTimers: Int
    let ditherTimers: Int
    let transitionTimers: Int
    let tickTimer: Int
    let warmUpTimer: Int

    init(platform: Platform, workload: Workload, configuration: SimulationConfiguration,
         traces: [String: ArrivalTrace], policy: GovernorPolicy, referencePlan: Plan?) {
        self.platform = platform
        self.givenReferencePlan = referencePlan
        self.workload = workload
        self.configuration = configuration
        self.policy = policy
        cpuNumbers = platform.cpus
        var index: [Int: Int] = [:]
        for (i, n) in cpuNumbers.enumerated() { index[n] = i }
        cpuIndex = index
        models = platform.domains.map { d in
            let fmax = Double(d.maxFrequency.value)
            let latency = configuration.transitionLatency
                ?? (d.transitionLatencyMicroseconds ?? 0) / 1_000_000
            return DomainModel(
                name: d.name,
                kilohertz: d.operatingPoints.map { Double($0.frequency.value) },
                fraction: d.operatingPoints.map { Double($0.frequency.value) / fmax },
                busyPower: d.operatingPoints.map(\.busyPower.value),
                idlePower: d.idlePower.value, capacityScale: d.capacity / 1024,
                transitionLatency: max(0, latency),
                cpus: d.cpus.compactMap { index[$0] }.sorted())
        }
        var bases: [Int] = []
        var speed: [Double] = [], power: [Double] = [], fraction: [Double] = [], khz: [Double] = []
        for m in models {
            bases.append(speed.count)
            for j in m.kilohertz.indices {
                speed.append(m.speed(j))
                power.append(m.busyPower[j])
                fraction.append(m.fraction[j])
                khz.append(m.kilohertz[j])
            }
        }
        pointSpeed = speed
        pointPower = power
        pointFraction = fraction
        pointKilohertz = khz
        idlePower = models.map(\.idlePower)
        var cpuStates: [CPUState] = []
        for n in cpuNumbers {
            let d = platform.domainIndex(ofCPU: n)!
            let top = models[d].kilohertz.count - 1
            var c = CPUState(domain: d, pointBase: bases[d], op: top, power: models[d].idlePower)
            c.speed = speed[bases[d] + top]
            c.fraction = 1
            c.kilohertz = khz[bases[d] + top]
            cpuStates.append(c)
        }
        cpus = cpuStates
        waiting = Array(repeating: JobQueue(), count: cpuNumbers.count)
        domains = models.map {
            DomainState(mode: .fixed($0.kilohertz.count - 1), op: $0.kilohertz.count - 1,
                        requestedKilohertz: $0.kilohertz.last!)
        }
        let seed = configuration.seed
        queues = workload.queues.enumerated().map { q, queue in
            QueueState(rate: queue.arrivalRate, meanWork: queue.meanWork,
                       unitWork: UnitWork(scv: queue.scv), parts: queue.dispatch.parts,
                       stream: RandomStream(seed: seed, stream: 1000 + UInt64(q)),
                       trace: traces[queue.name]?.arrivals,
                       table: DispatchTable(cpus: [], weights: [], needed: 0))
        }
        routing = RandomStream(seed: seed, stream: 1)
        speedDraws = RandomStream(seed: seed, stream: 2)
        phases = RandomStream(seed: seed, stream: 3)
        estimator = WorkloadEstimator(
            queueCount: workload.queues.count, halfLife: configuration.gearbox.halfLife,
            sharpRiseDeviations: configuration.gearbox.sharpRiseDeviations)

        if policy == .gearbox, let settings = configuration.gearbox.feedback {
            feedback = LatencyFeedback(settings: settings)
            for q in queues.indices { queues[q].feedbackWindow = LatencyHistogram() }
        }
        let c = cpuNumbers.count, q = workload.queues.count, d = models.count
        arrivalTimers = c
        ditherTimers = c + q
        transitionTimers = c + q + d
        tickTimer = c + q + 2 * d
        warmUpTimer = tickTimer + 1
        timers = TimerHeap(count: warmUpTimer + 1)
    }

    /// Runs to the end and returns what was measured. `progress` hears the fraction of
    /// simulated time done, now and then.
    mutating func run(progress: ((Double) -> Void)?) -> SimulationResult {
        start()
        let end = configuration.endTime
        timers.schedule(warmUpTimer, at: configuration.warmUp)
        var nextProgress = end / 100
        while true {
            let (timer, time) = timers.first
            if time > end { break }
            now = time
            events += 1
            if timer < arrivalTimers {
                complete(cpu: timer)
            } else if timer < ditherTimers {
                arrive(queue: timer - arrivalTimers)
            } else if timer < transitionTimers {
                ditherSwitch(domain: timer - ditherTimers)
            } else if timer < tickTimer {
                finishTransition(domain: timer - transitionTimers)
            } else if timer == tickTimer {
                tick()
            } else {
                endWarmUp()
            }
            if let progress, now >= nextProgress, events & 0xFFF == 0 {
                progress(now / end)
                nextProgress = now + end / 100
            }
        }
        now = end
        for i in cpus.indices { account(i) }
        return result()
    }

    /// First arrivals, the policy's initial speeds and splits, its first tick.
    private mutating func start() {
        for q in queues.indices { scheduleNextArrival(queue: q) }
        for q in queues.indices { queues[q].table = baselineTable(queue: q) }
        switch policy {
        case .powersave:
            for d in domains.indices { setMode(domain: d, .fixed(0)) }
        case .gearbox:
            break  // top speed and capacity split until its first plan
        case .performance:
            break
        case .ondemand, .conservative, .schedutil:
            timers.schedule(tickTimer, at: governorPeriod)
        case .oracle:
            install(referencePlan)
        case .fixed(let plan):
            install(plan)
        }
        if policy == .gearbox { timers.schedule(tickTimer, at: configuration.gearbox.tick) }
        if policy.isBaseline && configuration.baselineDispatch == .plannedSplit {
            installSplits(referencePlan)
        }
    }

    /// The plan for the true rates: the oracle's, and the baselines' split.
    private var referencePlan: Plan {
        givenReferencePlan ?? Planner(configuration: configuration.planner).plan(platform: platform, workload: workload)
    }

    /// Resets every statistic at the end of the warm-up.
    private mutating func endWarmUp() {
        timers.schedule(warmUpTimer, at: .infinity)
        for i in cpus.indices {
            account(i)
            cpus[i].sampledBusyTime -= cpus[i].busyTime  // keep the governors' deltas right
            cpus[i].energy = 0
            cpus[i].busyTime = 0
            cpus[i].busyKilohertzTime = 0
        }
        for d in domains.indices {
            domains[d].switches = 0
            domains[d].actuationJoules = 0
        }
        for q in queues.indices {
            queues[q].batches = Array(repeating: LatencyHistogram(), count: QueueOutcome.batchCount)
            queues[q].arrived = 0
        }
    }

    /// Accounts CPU `i`'s energy, busy time and work done since its last change.
    @inline(__always)
    mutating func account(_ i: Int) {
        let dt = now - cpus[i].last
        guard dt > 0 else { return }
        cpus[i].last = now
        cpus[i].energy += cpus[i].power * dt
        if cpus[i].busy {
            cpus[i].busyTime += dt
            cpus[i].remaining -= cpus[i].speed * dt
            cpus[i].invariantBusyTime += dt * cpus[i].fraction
            cpus[i].busyKilohertzTime += dt * cpus[i].kilohertz
        }
    }

    /// CPU `i` runs at its domain's operating point `op` from now: speed (0 while the
    /// domain is stalled) and busy power. Call after `account(i)`.
    @inline(__always)
    mutating func setOperatingPoint(_ i: Int, _ op: Int) {
        let k = cpus[i].pointBase + op
        cpus[i].op = op
        cpus[i].fraction = pointFraction[k]
        cpus[i].kilohertz = pointKilohertz[k]
        cpus[i].speed = domains[cpus[i].domain].stalled ? 0 : pointSpeed[k]
        if cpus[i].busy { cpus[i].power = pointPower[k] }
    }

    private func result() -> SimulationResult {
        let duration = configuration.duration
        let queueOutcomes = workload.queues.indices.map { q in
            QueueOutcome(name: workload.queues[q].name, target: workload.queues[q].target,
                         arrived: queues[q].arrived, batches: queues[q].batches)
        }
        let domainOutcomes = models.indices.map { d in
            let busy = models[d].cpus.reduce(0.0) { $0 + cpus[$1].busyTime }
            let khz = models[d].cpus.reduce(0.0) { $0 + cpus[$1].busyKilohertzTime }
            return DomainOutcome(name: models[d].name, switches: domains[d].switches,
                                 meanBusyKilohertz: busy > 0 ? khz / busy : 0, actuationJoules: domains[d].actuationJoules)
        }
        let cpuOutcomes = cpus.indices.map { i in
            CPUOutcome(cpu: cpuNumbers[i], utilization: cpus[i].busyTime / duration,
                       energyJoules: cpus[i].energy)
        }
        let actuation = domains.reduce(0.0) { $0 + $1.actuationJoules }
        var outcome = SimulationResult(
            policy: policy.name, realisation: configuration.realisation, duration: duration,
            energyJoules: cpus.reduce(0) { $0 + $1.energy } + actuation, actuationJoules: actuation, queues: queueOutcomes,
            domains: domainOutcomes, cpus: cpuOutcomes, events: events, plans: plans,
            lastPlanFeasible: lastPlanFeasible)
        outcome.feedback = feedback?.corrections ?? [:]
        outcome.feedbackMoves = feedbackMoves
        return outcome
    }
}
