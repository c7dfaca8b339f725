import GearboxCore

/// The policies' periodic decisions: baseline governors and gearbox's re-planning.
extension SimulationEngine {
    /// The policy's tick period in seconds.
    var governorPeriod: Double {
        let b = configuration.baselines
        switch policy {
        case .ondemand: return b.ondemandPeriod
        case .conservative: return b.conservativePeriod
        case .schedutil: return b.schedutilPeriod
        default: return configuration.gearbox.tick
        }
    }

    mutating func tick() {
        let period = governorPeriod
        switch policy {
        case .ondemand: for d in domains.indices { ondemand(domain: d, period: period) }
        case .conservative: for d in domains.indices { conservative(domain: d, period: period) }
        case .schedutil:
            let decay = Math.pow(2, -period / configuration.baselines.schedutilHalfLife)
            for d in domains.indices { schedutil(domain: d, period: period, decay: decay) }
        case .gearbox: replanFromEstimates()
        default: break
        }
        timers.schedule(tickTimer, at: now + period)
    }

    /// The highest busy fraction of domain `d`'s CPUs over the last sampling period (the
    /// load ondemand and conservative take for a policy).
    private mutating func sampleLoad(domain d: Int, period: Double) -> Double {
        var load = 0.0
        for i in models[d].cpus {
            account(i)
            load = max(load, (cpus[i].busyTime - cpus[i].sampledBusyTime) / period)
            cpus[i].sampledBusyTime = cpus[i].busyTime
        }
        return min(1, load)
    }

    /// cpufreq_ondemand: to the top above the threshold, else proportional, rounded up.
    private mutating func ondemand(domain d: Int, period: Double) {
        let b = configuration.baselines, model = models[d]
        let load = sampleLoad(domain: d, period: period)
        let fmin = model.kilohertz[0], fmax = model.kilohertz[model.kilohertz.count - 1]
        let target = load > b.ondemandUpThreshold ? fmax : fmin + load * (fmax - fmin)
        requestOperatingPoint(domain: d, model.atOrAbove(target))
    }

    /// cpufreq_conservative: a requested frequency moving in steps of 5 % of fmax; going up
    /// it takes the highest point at or below the request, going down the lowest at or
    /// above (CPUFREQ_RELATION_H and _L, as the kernel does).
    private mutating func conservative(domain d: Int, period: Double) {
        let b = configuration.baselines, model = models[d]
        let load = sampleLoad(domain: d, period: period)
        let fmin = model.kilohertz[0], fmax = model.kilohertz[model.kilohertz.count - 1]
        let step = b.conservativeStep * fmax
        if load > b.conservativeUpThreshold {
            domains[d].requestedKilohertz = min(fmax, domains[d].requestedKilohertz + step)
            requestOperatingPoint(domain: d, model.atOrBelow(domains[d].requestedKilohertz))
        } else if load < b.conservativeDownThreshold {
            domains[d].requestedKilohertz = max(fmin, domains[d].requestedKilohertz - step)
            requestOperatingPoint(domain: d, model.atOrAbove(domains[d].requestedKilohertz))
        }
    }

    /// schedutil: `1.25 · fmax · util`, rounded up, with util the largest of the domain's
    /// CPUs' PELT-like averages (32 ms half-life) of frequency-invariant busy time, as
    /// the kernel computes it with frequency invariance (then `fmax · util` is the
    /// frequency that would have done the work at full load).
    private mutating func schedutil(domain d: Int, period: Double, decay: Double) {
        var util = 0.0
        for i in models[d].cpus {
            account(i)
            let busy = (cpus[i].invariantBusyTime - cpus[i].sampledInvariantBusyTime) / period
            cpus[i].sampledInvariantBusyTime = cpus[i].invariantBusyTime
            cpus[i].pelt = cpus[i].pelt * decay + min(1, busy) * (1 - decay)
            util = max(util, cpus[i].pelt)
        }
        let fmax = models[d].kilohertz[models[d].kilohertz.count - 1]
        let target = configuration.baselines.schedutilHeadroom * fmax * util
        requestOperatingPoint(domain: d, models[d].atOrAbove(target))
    }

    /// gearbox's tick: fold the tick's arrivals into the estimates, and re-plan when an
    /// estimate left the hysteresis band (or rose sharply, or there is no plan yet).
    private mutating func replanFromEstimates() {
        let interval = now - lastTick
        lastTick = now
        let arrivals = queues.map(\.tickArrivals)
        let work = queues.map(\.tickWork)
        for q in queues.indices {
            queues[q].tickArrivals = 0
            queues[q].tickWork = 0
        }
        let risen = estimator.observe(interval: interval, arrivals: arrivals, work: work)
        let sharpRise = !risen.isEmpty
        let estimate = estimator.estimated(workload)
        let policy = ReplanPolicy(hysteresis: configuration.gearbox.hysteresis,
                                  smoothingHalfLife: configuration.gearbox.halfLife)
        let planStale = policy.shouldReplan(
            planned: plannedWorkload, current: estimate, plan: plannedWorkload == nil ? nil : currentPlan,
            platform: platform, configuration: configuration.planner, headroom: configuration.gearbox.targetHeadroom)
        let corrected = updateFeedback()
        let burstier = updateDispersion(arrivals)
        let released = releaseRecoveredHolds()
        if sharpRise || planStale || corrected || burstier || released || backlogDrained() {
            // As the agent does (ControlLoop.tick): when only estimates moved, the parts whose
            // queues did not keep the figures they were planned with.
            var next = estimate
            if sharpRise || planStale, !(corrected || burstier || released), let planned = plannedWorkload {
                var baseline: ReplanPolicy.Baseline?
                if let refreshed = policy.queuesToReplan(
                    planned: planned, current: estimate, plan: currentPlan, platform: platform,
                    configuration: configuration.planner, headroom: configuration.gearbox.targetHeadroom,
                    forced: Set(risen.map { workload.queues[$0].name }), baseline: &baseline) {
                    next = ReplanPolicy.refreshing(refreshed, in: estimate, planned: planned)
                }
            }
            plannedWorkload = next
            var planner = Planner(configuration: configuration.planner)
            for q in currentPlan?.queues ?? [] { planner.previousSplits[q.name] = q.split }
            let plan = backlogAwarePlan(planner, estimate: policy.plannable(next))
            plannedIndices = dispersions.map(\.planningIndex)
            currentPlan = plan
            install(plan)
        }
        balanceGivenUpSplits(lastTick: arrivals)
    }
}
