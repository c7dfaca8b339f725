import GearboxCore
import Testing

@Suite struct PowerHullTests {
    @Test func dropsPointsAboveTheHull() {
        // 1.5 GHz at 1.5 W lies above the chord from (0.5, 0.6) to (1.0, 1.6): mixing those
        // two gives speed 0.75 for 1.1 W.
        let domain = Fixtures.domain(cpus: [0], points: [(1_000_000, 0.6), (1_500_000, 1.5), (2_000_000, 1.6)])
        let hull = domain.hull
        #expect(hull.points.map(\.frequency.value) == [1_000_000, 2_000_000])
        #expect(hull.points.map(\.speed) == [0.5, 1.0])
    }

    @Test func dropsSlowerPointsThatCostMore() {
        // The slowest point costs more than a faster one: it is dominated.
        let domain = Fixtures.domain(cpus: [0], points: [(500_000, 0.9), (1_000_000, 0.5), (2_000_000, 2.0)])
        #expect(domain.hull.points.map(\.frequency.value) == [1_000_000, 2_000_000])
    }

    @Test func keepsConvexAndCollinearPoints() {
        let cubic = FrequencyDomain.operatingPoints(
            frequencies: [800_000, 1_600_000, 2_400_000].map(Kilohertz.init),
            power: ParametricPower(staticWatts: 0.3, dynamicWatts: 2.5))
        let domain = FrequencyDomain(name: "c", cpus: [0], capacity: 1024, idlePower: Watts(0.1), operatingPoints: cubic)
        #expect(domain.hull.points.count == 3)
        let linear = Fixtures.domain(cpus: [0], points: [(1_000_000, 1), (2_000_000, 2), (3_000_000, 3)])
        #expect(linear.hull.points.count == 3)
    }

    @Test func speedFollowsCapacity() {
        let little = Fixtures.domain(cpus: [0], capacity: 512, points: [(1_000_000, 0.2), (2_000_000, 0.6)])
        #expect(little.hull.highest.speed == 0.5)
        #expect(little.hull.lowest.speed == 0.25)
    }
}
