/// One point of a domain's power hull: a frequency, its speed and its busy power per CPU.
public struct HullPoint: Hashable, Sendable {
    public var frequency: Kilohertz
    /// Speed in ref-s of work per second (docs/model.md, "Units").
    public var speed: Double
    public var busyPower: Watts
    public init(frequency: Kilohertz, speed: Double, busyPower: Watts) {
        self.frequency = frequency
        self.speed = speed
        self.busyPower = busyPower
    }
}

/// The lower convex hull of `(speed, busy power)` of one domain, dominated points dropped.
///
/// Points are ascending by speed and by power. Only these points are ever planned
/// (docs/model.md, "Platform"): any point above the hull costs more than a mix of its
/// neighbours at the same average speed. Collinear points stay, since a domain that
/// cannot dither (docs/model.md, "time-shared two-speed") can still use them as pure speeds.
public struct PowerHull: Hashable, Sendable {
    public var points: [HullPoint]
    public var idlePower: Watts

    public init(domain: FrequencyDomain) {
        idlePower = domain.idlePower
        let all = domain.operatingPoints.map {
            HullPoint(frequency: $0.frequency, speed: domain.speed(at: $0.frequency), busyPower: $0.busyPower)
        }
        points = PowerHull.lowerHull(all)
    }

    /// The slowest and fastest hull points.
    public var lowest: HullPoint { points[0] }
    public var highest: HullPoint { points[points.count - 1] }

    /// Whether `frequency` is a hull point.
    public func contains(_ frequency: Kilohertz) -> Bool {
        points.contains { $0.frequency == frequency }
    }

    /// Lower convex hull by Andrew's monotone chain, then the rising part only.
    static func lowerHull(_ input: [HullPoint]) -> [HullPoint] {
        // Sort by speed; at equal speed keep the cheapest (then lowest frequency, for determinism).
        let sorted = input.sorted {
            ($0.speed, $0.busyPower.value, $0.frequency.value) < ($1.speed, $1.busyPower.value, $1.frequency.value)
        }
        var unique: [HullPoint] = []
        for point in sorted where unique.last?.speed != point.speed { unique.append(point) }
        var hull: [HullPoint] = []
        for point in unique {
            while hull.count >= 2 {
                let a = hull[hull.count - 2], b = hull[hull.count - 1]
                // Pop b when it lies strictly above the chord a–point (relative tolerance
                // keeps exactly collinear points that rounding would otherwise drop).
                let cross = (b.speed - a.speed) * (point.busyPower.value - a.busyPower.value)
                    - (b.busyPower.value - a.busyPower.value) * (point.speed - a.speed)
                let scale = abs(point.speed - a.speed) * max(abs(point.busyPower.value), abs(a.busyPower.value), 1e-300)
                if cross < -1e-12 * scale { hull.removeLast() } else { break }
            }
            hull.append(point)
        }
        // A point slower than the cheapest one is dominated by it (faster and no dearer).
        var cheapest = 0
        for (index, point) in hull.enumerated() where point.busyPower.value <= hull[cheapest].busyPower.value {
            cheapest = index
        }
        return Array(hull[cheapest...])
    }
}

extension FrequencyDomain {
    /// The domain's power hull (docs/model.md: only hull points are ever used).
    public var hull: PowerHull { PowerHull(domain: self) }
}

extension FrequencyDomain {
    /// `hull.highest` without building the hull (the judgement prices every mixing domain's
    /// switches with it): of the points at the top speed the cheapest, then the lowest
    /// frequency, which is what `PowerHull.lowerHull` keeps last.
    public var fastestHullPoint: HullPoint {
        var best: HullPoint?
        for point in operatingPoints {
            let candidate = HullPoint(frequency: point.frequency, speed: speed(at: point.frequency), busyPower: point.busyPower)
            guard let known = best else {
                best = candidate
                continue
            }
            if candidate.speed > known.speed
                || (candidate.speed == known.speed
                    && (candidate.busyPower.value, candidate.frequency.value) < (known.busyPower.value, known.frequency.value)) {
                best = candidate
            }
        }
        return best!
    }
}
