/// The dither period of a two-speed domain (docs/model.md, "time-shared two-speed"):
/// `τ = min(maxDitherPeriod, 5 × the shortest mean service time on the domain)`, never
/// shorter than `max(1 ms, 10 × cpuinfo_transition_latency)`; where those bounds cross, or
/// where switching at τ costs more than the mix saves, the domain runs one pure speed.
extension Planner {
    /// Domains that mix two speeds but whose dither period cannot be both at most
    /// `min(maxDitherPeriod, 5 × shortest mean service)` and at least `max(1 ms, 10 × transition
    /// latency)`, or whose mix saves less than switching at that period costs.
    func ditherFallbacks(_ state: PlanState, priceSwitching: Bool = true) -> [(Int, String)] {
        var out: [(Int, String)] = []
        for d in state.model.domains.indices where !state.model.domains[d].pureOnly {
            let mix = state.model.mix(domain: d, time: state.time[d])
            guard mix.pHigh > 0 && mix.pHigh < 1 else { continue }
            let bounds = ditherBounds(state, domain: d)
            if bounds.cap < bounds.floor {
                let multiple = configuration.ditherServiceMultiple
                let times = multiple == multiple.rounded() ? "\(Int(multiple))" : "\(multiple)"
                let reason = "dither period bounds cross: at most \(milliseconds(bounds.cap)) ms "
                    + "(\(times)× the shortest mean service time) but at least \(milliseconds(bounds.floor)) ms "
                    + "(1 ms, \(Int(configuration.ditherTransitionMultiple))× the transition latency); "
                    + "running one pure speed"
                out.append((d, reason))
            } else if priceSwitching, let (cost, saving) = switchingOutweighsMix(state, domain: d, period: bounds.cap) {
                let reason = "switching at the \(milliseconds(bounds.cap)) ms dither period costs \(milliwatts(cost)) mW, "
                    + "more than the two-speed mix saves (\(milliwatts(saving)) mW); running one pure speed"
                out.append((d, reason))
            }
        }
        return out
    }

    /// The switching cost of mixing domain `d` at `period` and what the mix saves against the
    /// faster of its two speeds (always feasible, everything else held), both in watts per
    /// copy, when the cost is the larger. The period is the longest the service times allow
    /// (`ditherBounds(…).cap`), which is also the one that switches least.
    func switchingOutweighsMix(_ state: PlanState, domain d: Int, period: Double) -> (cost: Double, saving: Double)? {
        let domain = state.model.domains[d]
        guard let faster = state.neighbouringVertices(d).first(where: { $0 < state.time[d] }) else { return nil }
        let cost = switchingWatts(state, domain: d, period: period)
        guard cost > 0 else { return nil }
        var pure = state
        pure.setTime(d, faster)
        let saving = (pure.power - state.power) / Double(domain.multiplicity)
        return cost > saving ? (cost, saving) : nil
    }

    /// What switching domain `d` (one copy) at `period` costs, in watts; 0 when it does not mix.
    func switchingWatts(_ state: PlanState, domain d: Int, period: Double) -> Double {
        let domain = state.model.domains[d]
        let mix = state.model.mix(domain: d, time: state.time[d])
        guard mix.pHigh > 0, mix.pHigh < 1 else { return 0 }
        let high = domain.hull.points.first { $0.speed == mix.highSpeed } ?? domain.hull.highest
        let joules = configuration.actuation.joulesPerSwitch(
            cpus: state.model.cpuCount(domain: d), latency: domain.transitionLatency,
            agentWatts: domain.hull.highest.busyPower.value, stallWatts: high.busyPower.value)
        return configuration.actuation.watts(period: period, joulesPerSwitch: joules)
    }

    /// Host power of `state` with what its mixing domains' switching costs.
    func pricedPower(_ state: PlanState) -> Double {
        state.model.domains.indices.reduce(state.power) { total, d in
            total + Double(state.model.domains[d].multiplicity) * switchingWatts(state, domain: d, period: ditherBounds(state, domain: d).cap)
        }
    }

    func milliwatts(_ watts: Double) -> Double { (watts * 1e6).rounded() / 1000 }

    /// The dither period's upper bound (cap) and lower bound (floor) for domain `d`.
    func ditherBounds(_ state: PlanState, domain d: Int) -> (cap: Double, floor: Double) {
        let t = state.model.mix(domain: d, time: state.time[d]).timePerWork
        var shortest = Double.infinity
        for i in state.model.domains[d].cpus {
            for e in state.cpuEntries[i] {
                let l = state.load(e)
                if l.rate > 0 && l.work > 0 { shortest = min(shortest, l.work * t) }
            }
        }
        let cap = min(configuration.maxDitherPeriod, configuration.ditherServiceMultiple * shortest)
        var floor = configuration.minDitherPeriod
        // 0 and CPUFREQ_ETERNAL (4294967295 ns) mean unknown: the 1 ms floor alone.
        if let latency = state.model.domains[d].transitionLatency, latency > 0, latency < 4.29 {
            floor = max(floor, configuration.ditherTransitionMultiple * latency)
        }
        return (cap, floor)
    }

    func milliseconds(_ seconds: Double) -> Double { (seconds * 1e6).rounded() / 1000 }
}
