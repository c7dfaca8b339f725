/// Helpers that keep building a `PlanningModel` cheap: it is built several times per plan
/// (once per exact-tail round and load pass), so on large hosts its lookups add up.
extension PlanningModel {
    /// What the model sees of each domain apart from its name and CPUs, built once per
    /// distinct table: identical domains (common on large hosts) share one hull and the
    /// arrays derived from it.
    struct DomainShapes {
        /// Hosts have few distinct tables: the first few are compared one by one, which is
        /// cheaper than hashing a table; any further ones are hashed.
        private var fewKeys: [FrequencyDomain] = []
        private var fewShapes: [Domain] = []
        private var many: [FrequencyDomain: Domain] = [:]
        private static let compared = 4

        mutating func shape(of domain: FrequencyDomain) -> Domain {
            var key = domain
            key.name = ""
            key.cpus = []
            for k in fewKeys.indices where fewKeys[k] == key { return fewShapes[k] }
            if let known = many[key] { return known }
            let shape = Domain(shapeOf: domain)
            if fewKeys.count < Self.compared {
                fewKeys.append(key)
                fewShapes.append(shape)
            } else {
                many[key] = shape
            }
            return shape
        }
    }
}

extension PlanningModel.Domain {
    /// What the model sees of `domain` apart from its name and CPUs (left empty).
    init(shapeOf domain: FrequencyDomain) {
        let hull = domain.hull
        let times = hull.points.map { 1 / $0.speed }
        let cheapest = hull.points.indices.min {
            (hull.points[$0].busyPower.value - domain.idlePower.value) / hull.points[$0].speed
                < (hull.points[$1].busyPower.value - domain.idlePower.value) / hull.points[$1].speed
        }!
        self.init(
            name: "", cpus: [], hull: hull, times: times, squaredTimes: times.map { $0 * $0 },
            energies: hull.points.map { $0.busyPower.value / $0.speed }, idle: domain.idlePower.value,
            fastest: times.last!, slowest: times[0], cheapest: times[cheapest], pureOnly: hull.points.count < 2,
            transitionLatency: domain.transitionLatencyMicroseconds.map { $0 * 1e-6 })
    }
}
