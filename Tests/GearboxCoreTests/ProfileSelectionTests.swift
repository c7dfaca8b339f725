import GearboxCore
import Testing

/// The active-profile rules of power-profiles-daemon, and the power-source hysteresis.
@Suite struct ProfileSelectionTests {
    @Test func holdsOverrideTheChoicePerformanceFirstAndEndWithTheirHolder() throws {
        var s = ProfileSelection(chosen: .balanced)
        let saver = try s.hold(.powerSaver, reason: "r", applicationID: "a", holder: ":1.1")
        #expect(s.active == .powerSaver)
        let fast = try s.hold(.performance, reason: "r", applicationID: "b", holder: ":1.2")
        #expect(s.active == .performance)
        #expect(saver.cookie != fast.cookie)
        // Only the holder may release its hold.
        #expect(s.release(cookie: fast.cookie, holder: ":1.1") == nil)
        #expect(s.releaseAll(holder: ":1.2") == [fast])
        #expect(s.active == .powerSaver)
        #expect(s.release(cookie: saver.cookie, holder: ":1.1") == saver)
        #expect(s.active == .balanced)
    }

    @Test func aChoiceEndsEveryHoldAndBalancedCannotBeHeld() throws {
        var s = ProfileSelection()
        _ = try s.hold(.performance, reason: "", applicationID: "", holder: ":1.1")
        #expect(throws: ProfileSelection.HoldRefusal.notHoldable(.balanced)) {
            try s.hold(.balanced, reason: "", applicationID: "", holder: ":1.1")
        }
        #expect(s.choose(.powerSaver).count == 1)
        #expect(s.holds.isEmpty && s.active == .powerSaver && s.chosenByUser)
        s.powerSourceChanged(default: .performance)
        #expect(s.active == .performance && !s.chosenByUser)
    }

    @Test func holdsAreBoundedPerClientAndInTotal() throws {
        var s = ProfileSelection()
        for _ in 0..<ProfileSelection.maximumHoldsPerHolder {
            _ = try s.hold(.performance, reason: "", applicationID: "", holder: ":1.1")
        }
        #expect(throws: ProfileSelection.HoldRefusal.tooManyForHolder(ProfileSelection.maximumHoldsPerHolder)) {
            try s.hold(.performance, reason: "", applicationID: "", holder: ":1.1")
        }
        var client = 2
        while s.holds.count < ProfileSelection.maximumHolds {
            _ = try s.hold(.powerSaver, reason: "", applicationID: "", holder: ":1.\(client / 16 + 2)")
            client += 1
        }
        #expect(throws: ProfileSelection.HoldRefusal.tooMany(ProfileSelection.maximumHolds)) {
            try s.hold(.performance, reason: "", applicationID: "", holder: ":9.9")
        }
        #expect(Set(s.holds.map(\.cookie)).count == s.holds.count, "cookies are unique")
    }

    @Test func lowBatteryHasHysteresisAndAdaptersWin() {
        var t = PowerSourceTracker(lowBatteryPercent: 20, hysteresisPercent: 5)
        #expect(t.observe(PowerSupplyReading(externalPower: true, batteryPercent: 80)) == .ac)
        #expect(t.observe(PowerSupplyReading(externalPower: true, batteryPercent: 10)) == nil)
        #expect(t.observe(PowerSupplyReading(externalPower: false, batteryPercent: 21)) == .battery)
        #expect(t.observe(PowerSupplyReading(externalPower: false, batteryPercent: 20)) == .lowBattery)
        // Back up to 24.9 %: inside the band, still low; 25 % leaves it.
        #expect(t.observe(PowerSupplyReading(externalPower: false, batteryPercent: 24.9)) == nil)
        #expect(t.observe(PowerSupplyReading(externalPower: false, batteryPercent: 19)) == nil)
        #expect(t.observe(PowerSupplyReading(externalPower: false, batteryPercent: 25)) == .battery)
        // No battery at all: a desktop, on AC.
        #expect(t.observe(PowerSupplyReading(externalPower: nil, batteryPercent: nil)) == .ac)
    }

    @Test func energyPreferenceMatchesQuartersOfTheRange() {
        #expect(EnergyPreference.matching(fraction: 0) == .power)
        #expect(EnergyPreference.matching(fraction: 0.3) == .balancePower)
        #expect(EnergyPreference.matching(fraction: 0.6) == .balancePerformance)
        #expect(EnergyPreference.matching(fraction: 1) == .performance)
        #expect(EnergyPreference.matching(fraction: .nan) == .balancePerformance)
        #expect(EnergyPreference.power < EnergyPreference.performance)
    }

    @Test func profilesScaleTargets() {
        let q = WorkQueue(name: "w", arrivalRate: 10, meanWork: 0.001, target: LatencyTarget(kind: .p99, seconds: 0.010))
        let w = Workload(queues: [q]).scalingTargets(by: ProfileSettings.defaults(for: .powerSaver).latencyFactor)
        #expect(w.queues[0].target == LatencyTarget(kind: .p99, seconds: 0.020))
        #expect(w.queues[0].target.kind == .p99)
    }
}
