import GearboxCore
import Testing

/// The price of switching in the planner (docs/model.md, "The cost of actuation").
@Suite struct ActuationTests {
    static let workload = Workload(queues: [
        WorkQueue(name: "rpc", arrivalRate: 1500, meanWork: 0.0005, target: LatencyTarget(kind: .p99, seconds: 0.008))
    ])

    static func cpuWatts(_ plan: Plan) -> Double { plan.cpus.reduce(0.0) { $0 + $1.power.value } }

    @Test func aMixIsUsedOnlyWhereItPaysForItsSwitching() {
        let platform = PlannerTests.rk3399
        var free = PlannerConfiguration()
        free.actuation = .free
        let mixing = Planner(configuration: free).plan(platform: platform, workload: Self.workload)
        #expect(mixing.feasible)
        let mixed = mixing.domains.filter { $0.pHigh > 0 && $0.pHigh < 1 }
        #expect(!mixed.isEmpty, "no domain mixes two speeds: the rule is not exercised")
        // Switching priced at 2 ms of agent CPU per switch: no mix saves that much.
        var dear = PlannerConfiguration()
        dear.actuation.cpuSecondsPerSwitch = 0.002
        let pure = Planner(configuration: dear).plan(platform: platform, workload: Self.workload)
        #expect(pure.feasible)
        #expect(pure.domains.allSatisfy { $0.pHigh == 1 && $0.ditherPeriod == nil })
        #expect(pure.domains.contains { $0.fallbackReason?.contains("switching") == true })
        #expect(LatencyModel.predict(platform: platform, workload: Self.workload, plan: pure, configuration: dear).feasible)
        // By hand: what the free plan's mixes would cost at that price, 2/τ switches a second,
        // each 2 ms at the domain's top busy power plus 40 µs at the higher busy power per CPU.
        var switching = 0.0
        for plan in mixed {
            let domain = platform.domains.first { $0.name == plan.name }!
            let top = domain.operatingPoints.map(\.busyPower.value).max()!
            let stall = max(PlannerTests.busyPower(domain, plan.low), PlannerTests.busyPower(domain, plan.high))
            switching += 2 / plan.ditherPeriod! * (0.002 * top + 40e-6 * Double(domain.cpus.count) * stall)
        }
        // The pure plan is cheaper than the free plan's mix once its switching is paid.
        #expect(Self.cpuWatts(pure) < Self.cpuWatts(mixing) + switching)
        // With the default price the plan's power counts what its switches cost, no more.
        let priced = Planner().plan(platform: platform, workload: Self.workload)
        let prediction = LatencyModel(platform: platform, workload: Self.workload, plan: priced)
        #expect(abs(priced.power.value - Self.cpuWatts(priced) - prediction.actuationWatts) < 1e-12)
    }
}
