import GearboxCore
import Testing

/// The host-wide cap on frequency switches (docs/model.md, "A budget of switches").
@Suite struct SwitchBudgetTests {
    /// Eight one-CPU domains with the EPYC 7451's three P-states and the default power curve
    /// (0.5 + 2.5 (f/fmax)^3 W), and the agent's kernel-only workload on them: one queue per
    /// CPU, 2 ms requests, a 20 ms mean target, loads from 45 % to 80 % of top speed, so that
    /// most domains need a speed between two P-states and mix.
    static let platform = Platform(domains: (0..<8).map { cpu in
        FrequencyDomain(name: "policy\(cpu)", cpus: [cpu], capacity: 1024, idlePower: Watts(0.1),
                        operatingPoints: [1_200_000, 2_000_000, 2_300_000].map { khz in
                            let f = Double(khz) / 2_300_000
                            return OperatingPoint(frequency: Kilohertz(khz), busyPower: Watts(0.5 + 2.5 * f * f * f))
                        })
    })
    static let workload = Workload(queues: (0..<8).map { cpu in
        WorkQueue(name: "cpu\(cpu)", arrivalRate: 225 + 25 * Double(cpu), meanWork: 0.002,
                  target: LatencyTarget(kind: .mean, seconds: 0.020), cpus: [cpu])
    })

    static func plan(cap: Double?) -> Plan {
        var configuration = PlannerConfiguration()
        configuration.maxSwitchRate = cap
        return Planner(configuration: configuration).plan(platform: platform, workload: workload)
    }

    /// 2/τ for each domain that mixes two speeds, by hand.
    static func rate(_ domain: DomainPlan) -> Double {
        domain.low != domain.high && domain.pHigh > 0 && domain.pHigh < 1 ? 2 / (domain.ditherPeriod ?? .infinity) : 0
    }

    /// The uncapped plan with the domains in `trimmed` at their faster speed, judged by the model.
    static func trimmedByHand(_ free: Plan, _ trimmed: Set<Int>) -> Plan {
        var plan = free
        for d in trimmed {
            plan.domains[d].low = plan.domains[d].high
            plan.domains[d].pHigh = 1
            plan.domains[d].timeShareHigh = 1
            plan.domains[d].ditherPeriod = nil
        }
        plan.adopt(LatencyModel.predict(platform: platform, workload: workload, plan: plan))
        return plan
    }

    @Test func aCapAboveThePlansSwitchingChangesNothing() {
        let free = Self.plan(cap: nil)
        let rate = free.domains.reduce(0) { $0 + Self.rate($1) }
        #expect(Planner.switchRate(free) == rate)
        #expect(free.domains.filter { Self.rate($0) > 0 }.count >= 5, "too few mixes to exercise the cap")
        #expect(Self.plan(cap: rate * 1.01) == free)
    }

    /// Under a cap the plan switches at most that often, keeps every target, changes only
    /// mixing domains and only to their faster speed, and draws what the model says the
    /// trimmed plan draws; among all ways of trimming mixes within the cap (every subset,
    /// judged independently) it is at most one mix's saving from the cheapest, and a tighter
    /// cap never draws less.
    @Test(arguments: [0.0, 0.25, 0.5, 0.75])
    func aCapIsKeptByRunningTheLeastValuableMixesFast(fraction: Double) {
        let free = Self.plan(cap: nil)
        let mixing = free.domains.indices.filter { Self.rate(free.domains[$0]) > 0 }
        let cap = fraction * Planner.switchRate(free)
        let capped = Self.plan(cap: cap)
        #expect(capped.feasible && capped.queues.allSatisfy(\.meetsTarget))
        #expect(Planner.switchRate(capped) <= cap * (1 + 1e-9))
        var trimmed = Set<Int>()
        for d in free.domains.indices where capped.domains[d] != free.domains[d] {
            trimmed.insert(d)
            #expect(mixing.contains(d), "domain \(d) did not mix but was changed")
            #expect(capped.domains[d].low == free.domains[d].high && capped.domains[d].high == free.domains[d].high)
            #expect(capped.domains[d].pHigh == 1 && capped.domains[d].ditherPeriod == nil)
            #expect(capped.domains[d].fallbackReason != nil)
        }
        let byHand = Self.trimmedByHand(free, trimmed)
        #expect(abs(capped.power.value - byHand.power.value) < 1e-9)
        #expect(capped.power.value >= free.power.value - 1e-9)
        // Every subset of the mixes trimmed that fits the cap, judged by the model.
        var best = Double.infinity
        var largestSaving = 0.0
        for d in mixing {
            largestSaving = max(largestSaving, Self.trimmedByHand(free, [d]).power.value - free.power.value)
        }
        for mask in 0..<(1 << mixing.count) {
            let subset = Set(mixing.indices.filter { mask & (1 << $0) != 0 }.map { mixing[$0] })
            let kept = mixing.filter { !subset.contains($0) }.reduce(0) { $0 + Self.rate(free.domains[$1]) }
            guard kept <= cap * (1 + 1e-9) else { continue }
            best = min(best, Self.trimmedByHand(free, subset).power.value)
        }
        #expect(capped.power.value >= best - 1e-9)
        // The rule itself: every mix trimmed saved less per switch than every mix kept.
        func savingPerSwitch(_ d: Int) -> Double {
            (Self.trimmedByHand(free, [d]).power.value - free.power.value) / Self.rate(free.domains[d])
        }
        let keptMixes = mixing.filter { !trimmed.contains($0) }
        for t in trimmed {
            for k in keptMixes { #expect(savingPerSwitch(t) <= savingPerSwitch(k) + 1e-12, "trimmed \(t) before \(k)") }
        }
        #expect(capped.power.value <= best + largestSaving + 1e-9)
        if fraction > 0 {
            #expect(capped.power.value <= Self.plan(cap: cap / 2).power.value + 1e-9)
        } else {
            #expect(capped.domains.allSatisfy { $0.low == $0.high && $0.ditherPeriod == nil })
        }
    }
}
