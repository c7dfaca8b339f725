import GearboxCore
import GearboxSimulator
import Testing

/// The simulator charges every frequency switch at the price the planner uses.
@Suite struct ActuationChargeTests {
    @Test func everySwitchIsChargedAtThePlannersPrice() {
        // One CPU, 40 µs transitions, a time share with a 2 ms period over 10 s: 10,000
        // switches, each 10 µs of agent CPU at the top busy power (1 W) plus 40 µs at the
        // higher busy power (1 W): 50 µJ.
        let domain = FrequencyDomain(
            name: "d", cpus: [0], capacity: 1024, idlePower: Watts(0.1),
            operatingPoints: [OperatingPoint(frequency: Kilohertz(500_000), busyPower: Watts(0.3)),
                              OperatingPoint(frequency: Kilohertz(1_000_000), busyPower: Watts(1))],
            transitionLatencyMicroseconds: 40)
        let platform = Platform(domains: [domain])
        let workload = Workload(queues: [
            WorkQueue(name: "q", arrivalRate: 100, meanWork: 0.001, target: LatencyTarget(kind: .mean, seconds: 1))
        ])
        let plan = TestPlans.fixed(platform: platform, low: 500_000, high: 1_000_000, pHigh: 0.5,
                                   splits: ["q": [0: 1]], ditherPeriod: 0.002)
        var configuration = SimulationConfiguration()
        configuration.duration = 10
        configuration.warmUp = 1
        let r = Simulator(platform: platform, workload: workload, configuration: configuration).run(policy: .fixed(plan))
        let switches = Double(r.domains[0].switches)
        #expect(abs(switches / 10_000 - 1) < 0.001, "\(switches) switches")
        #expect(abs(r.actuationJoules - switches * 50e-6) < 1e-9)
        #expect(abs(r.domains[0].actuationJoules - r.actuationJoules) < 1e-12)
        // Included in the run's energy, and the planner's prediction prices the plan the same.
        let cpuJoules = r.cpus.reduce(0.0) { $0 + $1.energyJoules }
        #expect(abs(r.energyJoules - cpuJoules - r.actuationJoules) < 1e-9)
        let predicted = LatencyModel(platform: platform, workload: workload, plan: plan).actuationWatts
        #expect(abs(predicted - 2 / 0.002 * 50e-6) < 1e-12)
        // Without a price, nothing is charged.
        configuration.planner.actuation = .free
        let free = Simulator(platform: platform, workload: workload, configuration: configuration).run(policy: .fixed(plan))
        #expect(free.actuationJoules == 0)
    }
}
