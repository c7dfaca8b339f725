/// Domain frequencies: modes, time-share switching, transitions.
extension SimulationEngine {
    /// Puts domain `d` in `mode`. A time-share that keeps its two speeds keeps its phase
    /// (only θ and τ change from the next switch on); a new one starts at a random phase.
    mutating func setMode(domain d: Int, _ mode: DomainMode) {
        let old = domains[d].mode
        guard mode != old else { return }
        domains[d].mode = mode
        if case .timeShare(let l0, let h0, _, _) = old, case .timeShare(let l1, let h1, _, _) = mode,
           l0 == l1, h0 == h1 {
            return
        }
        timers.schedule(ditherTimers + d, at: .infinity)
        switch mode {
        case .fixed(let op):
            requestOperatingPoint(domain: d, op)
        case .perRequest:
            break  // each job draws its own speed from now on
        case .timeShare(let low, let high, let theta, let period):
            let phase = phases.uniform() * period
            domains[d].ditherHigh = phase < theta * period
            requestOperatingPoint(domain: d, domains[d].ditherHigh ? high : low)
            let next = domains[d].ditherHigh ? theta * period - phase : period - phase
            domains[d].ditherEdge = now + next
            timers.schedule(ditherTimers + d, at: ditherTimer(at: domains[d].ditherEdge, period: period))
        }
    }

    /// When the timer for an exact edge at `edge` fires: on it, or off it by up to
    /// `ditherEdgeJitter` of τ (drawn only when jitter is asked for, so runs without it are
    /// unchanged).
    mutating func ditherTimer(at edge: Double, period: Double) -> Double {
        let jitter = configuration.ditherEdgeJitter
        guard jitter > 0, jitter.isFinite else { return edge }
        // Never before the switch just made: the edges keep their order.
        return max(now, edge + (2 * phases.uniform() - 1) * min(jitter, 0.5) * period)
    }

    /// The time-share switch of domain `d` is due: change phase.
    mutating func ditherSwitch(domain d: Int) {
        guard case .timeShare(let low, let high, let theta, let period) = domains[d].mode else {
            timers.schedule(ditherTimers + d, at: .infinity)
            return
        }
        domains[d].ditherHigh.toggle()
        let high_ = domains[d].ditherHigh
        requestOperatingPoint(domain: d, high_ ? high : low)
        // The next edge is placed from the exact schedule's, not from when this one fired.
        let exact = configuration.ditherEdgeJitter > 0 ? domains[d].ditherEdge : now
        domains[d].ditherEdge = exact + (high_ ? theta : 1 - theta) * period
        timers.schedule(ditherTimers + d, at: ditherTimer(at: domains[d].ditherEdge, period: period))
    }

    /// Asks domain `d` for operating point `op`; it takes effect after the transition
    /// latency (with the CPUs stalled meanwhile under the `.stall` model).
    mutating func requestOperatingPoint(domain d: Int, _ op: Int) {
        if case .perRequest = domains[d].mode { return }
        let latency = models[d].transitionLatency
        guard latency > 0 else {
            apply(domain: d, op)
            return
        }
        if domains[d].pendingOp != nil {
            domains[d].pendingOp = op  // a transition is under way: it ends at op instead
            return
        }
        guard op != domains[d].op else { return }
        domains[d].pendingOp = op
        if configuration.transition == .stall {
            domains[d].stalled = true
            for i in models[d].cpus { setCPU(i, op: domains[d].op) }
        }
        timers.schedule(transitionTimers + d, at: now + latency)
    }

    /// Domain `d`'s transition comes into effect.
    mutating func finishTransition(domain d: Int) {
        timers.schedule(transitionTimers + d, at: .infinity)
        let op = domains[d].pendingOp ?? domains[d].op
        domains[d].pendingOp = nil
        let wasStalled = domains[d].stalled
        domains[d].stalled = false
        apply(domain: d, op, force: wasStalled)
    }

    /// Domain `d`'s CPUs run at `op` from now.
    private mutating func apply(domain d: Int, _ op: Int, force: Bool = false) {
        guard op != domains[d].op || force else { return }
        if op != domains[d].op {
            domains[d].switches += 1
            domains[d].actuationJoules += switchJoules(domain: d, from: domains[d].op, to: op)
        }
        domains[d].op = op
        for i in models[d].cpus { setCPU(i, op: op) }
    }

    /// What switching domain `d` from `from` to `to` costs, priced as the planner prices it
    /// (`PlannerConfiguration.actuation`): the agent's CPU time at the domain's top busy
    /// power, and, unless the `.stall` transition model already stalls the CPUs, the
    /// transition latency at the higher of the two busy powers on each of its CPUs.
    func switchJoules(domain d: Int, from: Int, to: Int) -> Double {
        let model = models[d]
        let stall = configuration.transition == .stall ? 0 : max(model.busyPower[from], model.busyPower[to])
        return configuration.planner.actuation.joulesPerSwitch(
            cpus: model.cpus.count, latency: model.transitionLatency, agentWatts: model.busyPower.last ?? 0, stallWatts: stall)
    }

    /// CPU `i` runs at `op` from now (speed 0 while its domain is stalled).
    private mutating func setCPU(_ i: Int, op: Int) {
        account(i)
        setOperatingPoint(i, op)
        if cpus[i].busy { scheduleCompletion(i) }
    }
}
