import Foundation

/// An axis-aligned rectangle in SVG coordinates (y grows downwards).
struct ChartBox: Equatable {
    var minX: Double, minY: Double, maxX: Double, maxY: Double

    init(minX: Double, minY: Double, maxX: Double, maxY: Double) {
        (self.minX, self.minY, self.maxX, self.maxY) = (minX, minY, maxX, maxY)
    }

    init(centerX: Double, centerY: Double, width: Double, height: Double) {
        self.init(minX: centerX - width / 2, minY: centerY - height / 2,
                  maxX: centerX + width / 2, maxY: centerY + height / 2)
    }

    func intersects(_ other: ChartBox) -> Bool {
        minX < other.maxX && other.minX < maxX && minY < other.maxY && other.minY < maxY
    }

    func isInside(_ other: ChartBox) -> Bool {
        minX >= other.minX && maxX <= other.maxX && minY >= other.minY && maxY <= other.maxY
    }

    func distance(toX x: Double, y: Double) -> Double {
        let p = nearestPoint(toX: x, y: y)
        return hypot(p.x - x, p.y - y)
    }

    /// The point of the box nearest to (x, y).
    func nearestPoint(toX x: Double, y: Double) -> (x: Double, y: Double) {
        (Swift.min(Swift.max(x, minX), maxX), Swift.min(Swift.max(y, minY), maxY))
    }
}

/// Text extents estimated from the font size, for fonts like DejaVu Sans (what the chart
/// names first): generous, so that a label placed clear of another is clear when rendered.
enum ChartText {
    static func width(_ text: String, size: Double, bold: Bool) -> Double {
        Double(text.count) * size * (bold ? 0.72 : 0.66)
    }

    /// The box of a text drawn with its baseline at `baseline`, from `left`.
    static func box(_ text: String, left: Double, baseline: Double, size: Double, bold: Bool) -> ChartBox {
        ChartBox(minX: left, minY: baseline - 0.82 * size,
                 maxX: left + width(text, size: size, bold: bold), maxY: baseline + 0.22 * size)
    }
}

/// Places the labels of a panel's markers one by one, each where it overlaps no label
/// already placed, no marker and no fixed obstacle, inside the plot; near the marker it
/// also keeps clear of other markers (so that it cannot be read as theirs). It tries positions
/// around the marker first (right above, right, above, ...), then rings further out (the
/// label then gets a leader line), then, should the rings all be taken, the free spot of
/// the plot nearest to the marker. The result depends only on the input order.
struct ChartLabelPlacer {
    var bounds: ChartBox
    var obstacles: [ChartBox]
    /// The centres of all markers.
    var anchors: [(x: Double, y: Double)]
    private(set) var placed: [ChartBox] = []

    init(bounds: ChartBox, obstacles: [ChartBox], anchors: [(x: Double, y: Double)]) {
        self.bounds = bounds
        self.obstacles = obstacles
        self.anchors = anchors
    }

    struct Placement {
        var box: ChartBox
        /// Whether the label sits away from its marker and needs a line to it.
        var needsLeader: Bool
    }

    /// Preferred directions in degrees, anticlockwise from the right; further rings also
    /// try the directions in between.
    private static let directions: [Double] = [45, 0, 90, 315, 135, 180, 270, 225]
    private static let between: [Double] = [22.5, 67.5, 337.5, 292.5, 112.5, 157.5, 202.5, 247.5]

    mutating func place(width: Double, height: Double, nearX x: Double, y: Double, clearance: Double) -> Placement {
        // Unambiguous positions near the marker first; in a crowd there may be none, and any
        // free position will do (its leader line says whose label it is).
        for (rings, unambiguous) in [(0..<6, true), (0..<24, false)] {
            for ring in rings {
                let distance = clearance + 2 + Double(ring) * 8
                for degrees in Self.directions + (ring == 0 ? [] : Self.between) {
                    let angle = degrees * Double.pi / 180
                    let (c, s) = (cos(angle), sin(angle))
                    let box = ChartBox(centerX: x + c * (distance + width / 2), centerY: y - s * (distance + height / 2),
                                       width: width, height: height)
                    if isFree(box, owner: (x, y), unambiguous: unambiguous) { return accept(box, needsLeader: ring > 0) }
                }
            }
        }
        if let box = nearestFreeSpot(width: width, height: height, x: x, y: y) {
            return accept(box, needsLeader: true)
        }
        // A plot too full for one more label (not reached with the policies gearbox compares).
        return accept(ChartBox(minX: x + clearance + 2, minY: y - height / 2, maxX: x + clearance + 2 + width,
                               maxY: y + height / 2), needsLeader: false)
    }

    private mutating func accept(_ box: ChartBox, needsLeader: Bool) -> Placement {
        placed.append(box)
        return Placement(box: box, needsLeader: needsLeader)
    }

    private func isFree(_ box: ChartBox, owner: (x: Double, y: Double), unambiguous: Bool) -> Bool {
        guard box.isInside(bounds), !obstacles.contains(where: box.intersects),
              !placed.contains(where: box.intersects) else { return false }
        guard unambiguous else { return true }
        let own = box.distance(toX: owner.x, y: owner.y)
        // Markers drawn on top of each other share their surroundings.
        return anchors.allSatisfy {
            hypot($0.x - owner.x, $0.y - owner.y) < 4 || box.distance(toX: $0.x, y: $0.y) >= own + 4
        }
    }

    /// A scan of the plot in 3-pixel steps.
    private func nearestFreeSpot(width: Double, height: Double, x: Double, y: Double) -> ChartBox? {
        var best: (box: ChartBox, distance: Double)?
        var top = bounds.minY
        while top + height <= bounds.maxY {
            var left = bounds.minX
            while left + width <= bounds.maxX {
                let box = ChartBox(minX: left, minY: top, maxX: left + width, maxY: top + height)
                let d = hypot(left + width / 2 - x, top + height / 2 - y)
                if best.map({ d < $0.distance }) ?? true, isFree(box, owner: (x, y), unambiguous: false) { best = (box, d) }
                left += 3
            }
            top += 3
        }
        return best?.box
    }
}
