import GearboxControl
import GearboxCore
import Testing
@testable import GearboxAgent

/// An override's answer says what each pinned domain really runs: a requested frequency
/// between operating points runs at the next one up (an operator asking for a speed gets at
/// least that speed), not at the number that was asked.
@Suite struct OverridePinnedFrequencyTests {
    static let platform = Platform(domains: [
        FrequencyDomain(name: "policy0", cpus: [0], capacity: 1024, idlePower: Watts(0.1), operatingPoints: [
            OperatingPoint(frequency: Kilohertz(1_200_000), busyPower: Watts(1)),
            OperatingPoint(frequency: Kilohertz(1_400_000), busyPower: Watts(1.5)),
            OperatingPoint(frequency: Kilohertz(2_000_000), busyPower: Watts(3)),
        ]),
        FrequencyDomain(name: "policy1", cpus: [1], capacity: 512, idlePower: Watts(0.05), operatingPoints: [
            OperatingPoint(frequency: Kilohertz(1_000_000), busyPower: Watts(0.5)),
            OperatingPoint(frequency: Kilohertz(1_300_000), busyPower: Watts(0.8)),
        ]),
    ])

    func pinned(_ action: Override.Action, scope: Override.Scope = .host) -> [String: Int] {
        let json = Override(id: 1, scope: scope, action: action, expiresAt: nil).json(now: 0, platform: Self.platform)
        var result: [String: Int] = [:]
        for (name, value) in json["pinned_khz"]?.objectFields ?? [] { result[name] = value.intValue }
        return result
    }

    @Test func betweenOperatingPointsRunsTheNextOneUp() {
        // 1,234,567 kHz: policy0's next point up is 1.4 GHz; policy1 tops out at 1.3 GHz.
        #expect(pinned(.frequency(Kilohertz(1_234_567))) == ["policy0": 1_400_000, "policy1": 1_300_000])
        #expect(pinned(.frequency(Kilohertz(1_234_567)), scope: .domain("policy0")) == ["policy0": 1_400_000])
    }

    @Test func modesPinTheEnds() {
        #expect(pinned(.performance) == ["policy0": 2_000_000, "policy1": 1_300_000])
        #expect(pinned(.powersave, scope: .cpus([1])) == ["policy1": 1_000_000])
    }

    @Test func actionsThatPinNothingSayNothing() {
        let json = Override(id: 1, scope: .host, action: .auto, expiresAt: nil).json(now: 0, platform: Self.platform)
        #expect(json["pinned_khz"] == nil)
    }
}

/// Refused changes are logged once per user a minute, with the count held back.
@Suite struct RefusalLogLimiterTests {
    @Test func oneLinePerUserPerInterval() {
        let limiter = RefusalLogLimiter(interval: .seconds(3600))
        #expect(limiter.admit(uid: 65534) == 0)
        for _ in 0..<50 { #expect(limiter.admit(uid: 65534) == nil) }
        // Another user is logged at once; an unknown peer counts as one more.
        #expect(limiter.admit(uid: 1000) == 0)
        #expect(limiter.admit(uid: nil) == 0)
        #expect(limiter.admit(uid: nil) == nil)
    }

    @Test func theCountHeldBackComesWithTheNextLine() {
        let limiter = RefusalLogLimiter(interval: .zero)
        #expect(limiter.admit(uid: 7) == 0)
        #expect(limiter.admit(uid: 7) == 0)
        let slow = RefusalLogLimiter(interval: .milliseconds(50))
        #expect(slow.admit(uid: 7) == 0)
        #expect(slow.admit(uid: 7) == nil)
        #expect(slow.admit(uid: 7) == nil)
        let deadline = ContinuousClock.now + .seconds(30)
        var next: Int?
        repeat { next = slow.admit(uid: 7) } while next == nil && ContinuousClock.now < deadline
        #expect(next.map { $0 >= 2 } == true)
    }
}
