import GearboxCore
import GearboxLinux
import Testing

@Suite("Default power model, platform conversion and energy counters")
struct PowerAndStepsTests {
    static func domain(_ name: String, cpus: [Int], frequencies: [Int], capacity: Int) -> InspectedDomain {
        InspectedDomain(name: name, cpus: cpus, relatedCPUs: cpus, driver: "cpufreq-dt", governor: "schedutil",
                        governors: ["userspace"], frequencies: frequencies.map(Kilohertz.init), hasFrequencyTable: true,
                        hardwareMinimum: Kilohertz(frequencies.first!), hardwareMaximum: Kilohertz(frequencies.last!),
                        scalingMinimum: Kilohertz(frequencies.first!), scalingMaximum: Kilohertz(frequencies.last!),
                        capacity: capacity, capacitySource: .cpuCapacity, transitionLatencyMicroseconds: 40,
                        energyPerformancePreference: nil)
    }

    @Test("the default model: capacity/1024 × (0.5 + 2.5 (f/fmax)^3) W busy, capacity/1024 × 0.1 W idle")
    func defaultModel() {
        let inventory = HostInventory(domains: [
            Self.domain("policy0", cpus: [0, 1], frequencies: [500_000, 1_000_000], capacity: 512),
            Self.domain("policy2", cpus: [2], frequencies: [1_000_000, 2_000_000], capacity: 1024),
        ])
        let platform = inventory.platform()
        let little = platform.domains[0]
        #expect(little.idlePower.value == 0.05)
        // At half speed: 0.5 × (0.5 + 2.5 × 0.125) = 0.40625 → 0.4063 with 4-decimal factors (0.25 + 1.25 × 0.125).
        #expect(abs(little.operatingPoints[0].busyPower.value - (0.25 + 1.25 * 0.125)) < 1e-12)
        #expect(abs(platform.domains[1].operatingPoints[1].busyPower.value - 3.0) < 1e-12)
        #expect(platform.domains.map(\.transitionLatencyMicroseconds) == [40, 40])
    }

    @Test("a platform file's domain with the same CPUs replaces the default power")
    func overrides() {
        let inventory = HostInventory(domains: [
            Self.domain("policy0", cpus: [0, 1], frequencies: [500_000, 1_000_000], capacity: 512),
            Self.domain("policy2", cpus: [2], frequencies: [1_000_000, 2_000_000], capacity: 1024),
        ])
        let given = FrequencyDomain(name: "little", cpus: [1, 0], capacity: 500, idlePower: Watts(0.02),
                                    operatingPoints: [.init(frequency: Kilohertz(500_000), busyPower: Watts(0.2))])
        let platform = inventory.platform(overrides: Platform(domains: [given]))
        #expect(platform.domains[0].name == "little" && platform.domains[0].operatingPoints.count == 1)
        #expect(platform.domains[0].transitionLatencyMicroseconds == 40)
        #expect(platform.domains[1].name == "policy2")
    }

    @Test("RAPL counters: joules between readings, across one wrap")
    func energyWrap() {
        #expect(EnergyCounter.joules(from: 1_000_000, to: 3_500_000, range: 10_000_000) == 2.5)
        // 9.5 J to the wrap at 10 J (+1 µJ to reach 0), then 1 J.
        #expect(EnergyCounter.joules(from: 9_500_000, to: 1_000_000, range: 10_000_000) == 1.500001)
        #expect(EnergyCounter.joules(from: 5, to: 1, range: nil) == 0)
    }
}
