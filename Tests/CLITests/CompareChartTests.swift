import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GearboxTestSupport
import Testing

/// The chart `gearboxctl compare --svg` writes, read back from the SVG and checked against
/// the JSON of the same run (`--json` and `--svg` together).
@Suite(.serialized) struct CompareChartTests {
    /// One element of the SVG: its attributes, its text, and the attributes of the elements
    /// around it (innermost last).
    struct Element: Sendable {
        var name: String
        var attributes: [String: String]
        var text = ""
        var ancestors: [[String: String]]

        func number(_ key: String) -> Double? { attributes[key].flatMap(Double.init) }
        var classes: Set<String> { Set((attributes["class"] ?? "").split(separator: " ").map(String.init)) }
        var panelQueue: String? { ancestors.last { $0["class"] == "panel" }?["data-queue"] }
        /// The marker group this element belongs to, if any.
        var markerGroup: [String: String]? {
            ancestors.last { ($0["class"] ?? "").split(separator: " ").contains("marker") }
        }
    }

    final class Collector: NSObject, XMLParserDelegate {
        var elements: [Element] = []
        private var open: [Int] = []

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            elements.append(Element(name: name, attributes: attributes, ancestors: open.map { elements[$0].attributes }))
            open.append(elements.count - 1)
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let last = open.last { elements[last].text += string }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            open.removeLast()
        }
    }

    struct Run: Sendable {
        var power: Double
        /// Per queue name: the measured latency of the target's kind, the target, met, undecided.
        var queues: [String: (measured: Double, target: Double, met: Bool, undecided: Bool)]
    }

    struct Chart: Sendable {
        var runs: [Run]
        var elements: [Element]

        func panel(_ queue: String) -> [Element] { elements.filter { $0.panelQueue == queue } }
        var queueNames: [String] { Array(runs[0].queues.keys).sorted() }
    }

    static func compare(_ platform: String, _ load: String) throws -> Chart {
        let svg = FileManager.default.temporaryDirectory
            .appendingPathComponent("gearbox-chart-\(getpid())-\(platform)-\(load).svg")
        defer { try? FileManager.default.removeItem(at: svg) }
        let r = try BuiltTool.run("gearboxctl", [
            "compare", "--platform", BuiltTool.example("\(platform).toml"),
            "--workload", BuiltTool.example("\(platform)-\(load).toml"),
            "--duration", "5", "--warm-up", "2", "--json", "--svg", svg.path,
        ])
        #expect(r.status == 0 || r.status == 1, "\(r.stderr)")
        let objects = try #require(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let runs = try objects.map { o in
            var queues: [String: (Double, Double, Bool, Bool)] = [:]
            for q in try #require(o["queues"] as? [[String: Any]]) {
                let kind = try #require(q["kind"] as? String)
                queues[try #require(q["name"] as? String)] = (
                    try #require(q["\(kind)_ms"] as? Double), try #require(q["target_ms"] as? Double),
                    try #require(q["met"] as? Bool), try #require(q["undecided"] as? Bool))
            }
            return Run(power: try #require(o["power_watts"] as? Double), queues: queues)
        }
        let parser = XMLParser(data: try Data(contentsOf: svg))
        let collector = Collector()
        parser.delegate = collector
        #expect(parser.parse(), "the chart is not well-formed XML")
        return Chart(runs: runs, elements: collector.elements)
    }

    /// The (x, y) of a `translate(x y)` transform.
    static func translation(_ e: Element) throws -> (x: Double, y: Double) {
        let inner = try #require(e.attributes["transform"]?.split(separator: "(").last?.dropLast())
        let parts = inner.split(whereSeparator: { $0 == " " || $0 == "," }).compactMap { Double($0) }
        try #require(parts.count == 2)
        return (parts[0], parts[1])
    }

    /// A text's extent from its position, anchor and font size, with glyphs estimated at
    /// 0.6 em wide (0.66 em bold), as in DejaVu Sans, ascending 0.75 em and descending 0.2 em.
    static func box(_ e: Element) throws -> (minX: Double, minY: Double, maxX: Double, maxY: Double) {
        let x = try #require(e.number("x")), y = try #require(e.number("y")), size = try #require(e.number("font-size"))
        let width = Double(e.text.count) * size * (e.attributes["font-weight"] == "bold" ? 0.66 : 0.6)
        let left = switch e.attributes["text-anchor"] {
        case "middle": x - width / 2
        case "end": x - width
        default: x
        }
        return (left, y - 0.75 * size, left + width, y + 0.2 * size)
    }

    static func overlap(_ a: (minX: Double, minY: Double, maxX: Double, maxY: Double),
                        _ b: (minX: Double, minY: Double, maxX: Double, maxY: Double)) -> Bool {
        a.minX < b.maxX && b.minX < a.maxX && a.minY < b.maxY && b.minY < a.maxY
    }

    /// Every run has one marker in every panel, inside the plot, at the height of its power
    /// read off the power axis; the axis covers every power, and does not reach down to 0
    /// when every power is far from it.
    @Test(arguments: [("server-8cpu", "medium"), ("laptop-hybrid", "medium")])
    func powerAxisShowsTheBandWhereThePoliciesDiffer(platform: String, load: String) async throws {
        let chart = try await blocking { try Self.compare(platform, load) }
        let powers = chart.runs.map(\.power)
        let low = try #require(powers.min()), high = try #require(powers.max())
        try #require(low > 0.3 * high, "this example's powers are not far from 0")
        for queue in chart.queueNames {
            let panel = chart.panel(queue)
            let ticks = try panel.filter { $0.classes.contains("power-tick") }.map { try #require(Double($0.text)) }
            let lines = try panel.filter { $0.classes.contains("power-grid") }.map { try #require($0.number("y1")) }
            try #require(ticks.count == lines.count && ticks.count >= 3, "\(queue): \(ticks) against \(lines.count) lines")
            let (first, last) = (ticks.first!, ticks.last!)
            #expect(min(first, last) > 0, "\(queue): the power axis starts at 0")
            #expect(min(first, last) <= low && max(first, last) >= high, "\(queue): ticks \(ticks) miss \(low)...\(high)")
            #expect(abs(last - first) < 2.5 * (high - low), "\(queue): ticks \(ticks) squeeze \(low)...\(high)")
            func watts(atY y: Double) -> Double { first + (y - lines.first!) / (lines.last! - lines.first!) * (last - first) }

            let plot = try #require(panel.first { $0.classes.contains("plot") })
            let (left, top) = (try #require(plot.number("x")), try #require(plot.number("y")))
            let (right, bottom) = (left + (try #require(plot.number("width"))), top + (try #require(plot.number("height"))))
            let markers = panel.filter { $0.name == "g" && $0.classes.contains("marker") }
            #expect(markers.count == chart.runs.count, "\(queue): \(markers.count) markers for \(chart.runs.count) runs")
            for m in markers {
                let run = try #require(Int(m.attributes["data-run"] ?? "")), (x, y) = try Self.translation(m)
                #expect(left < x && x < right && top < y && y < bottom, "\(queue): marker \(run) outside the plot")
                let expected = chart.runs[run - 1].power
                #expect(abs(watts(atY: y) - expected) < 0.01 * abs(last - first),
                        "\(queue): marker \(run) drawn at \(watts(atY: y)) W, ran at \(expected) W")
            }
        }
    }

    /// No two texts of the chart overlap (the rotated axis title and the "?" inside markers
    /// aside), and no marker label covers a marker.
    @Test(arguments: [("server-8cpu", "medium"), ("laptop-hybrid", "medium"), ("phone-rk3399", "medium"),
                      ("server-8cpu", "high")])
    func labelsNeverOverlap(platform: String, load: String) throws {
        let chart = try Self.compare(platform, load)
        let texts = chart.elements.filter { e in
            e.name == "text" && e.attributes["transform"] == nil && !e.ancestors.contains { $0["transform"] != nil }
        }
        let boxes = try texts.map(Self.box)
        for i in boxes.indices {
            for j in boxes.indices where j > i && Self.overlap(boxes[i], boxes[j]) {
                Issue.record("\"\(texts[i].text)\" overlaps \"\(texts[j].text)\"")
            }
        }
        for queue in chart.queueNames {
            let panel = chart.panel(queue)
            let labels = panel.filter { $0.classes.contains("marker-label") }
            let markers = panel.filter { $0.name == "g" && $0.classes.contains("marker") }
            #expect(Set(labels.compactMap { $0.attributes["data-run"] }).count == markers.count,
                    "\(queue): not one label per marker")
            for m in markers {
                let (x, y) = try Self.translation(m)
                let markerBox = (minX: x - 7, minY: y - 7, maxX: x + 7, maxY: y + 7)
                for l in labels where Self.overlap(try Self.box(l), markerBox) {
                    Issue.record("\(queue): label \"\(l.text)\" covers marker \(m.attributes["data-run"] ?? "")")
                }
            }
        }
    }

    /// A queue whose target lies inside its measurement's 95 % interval gets the undecided
    /// marker (dashed, with a "?"), whichever side of the target it measured; the others are
    /// filled when met and hollow when missed, and sit on the matching side of the target line.
    @Test func undecidedResultsAreDrawnAsUndecided() throws {
        let chart = try Self.compare("phone-rk3399", "medium")
        let undecided = chart.runs.flatMap { $0.queues.values.filter(\.undecided) }
        try #require(!undecided.isEmpty, "this run has no undecided result to draw")
        for queue in chart.queueNames {
            let panel = chart.panel(queue)
            let targetX = try #require(panel.first { $0.classes.contains("target") }?.number("x1"))
            for m in panel where m.name == "g" && m.classes.contains("marker") {
                let run = try #require(Int(m.attributes["data-run"] ?? ""))
                let outcome = try #require(chart.runs[run - 1].queues[queue])
                let shape = try #require(chart.elements.first { $0.name != "g" && $0.markerGroup == m.attributes })
                let question = chart.elements.contains { $0.name == "text" && $0.text == "?" && $0.markerGroup == m.attributes }
                let dashed = shape.attributes["stroke-dasharray"] != nil
                let hollow = shape.attributes["fill"] == "white"
                if outcome.undecided {
                    #expect(m.classes.contains("undecided") && dashed && question && hollow, "\(queue) run \(run)")
                } else {
                    #expect(!dashed && !question, "\(queue) run \(run) is drawn as undecided")
                    #expect(m.classes.contains(outcome.met ? "met" : "missed") && hollow == !outcome.met,
                            "\(queue) run \(run): met \(outcome.met) drawn as \(m.classes)")
                }
                let x = try Self.translation(m).x
                #expect((x <= targetX) == (outcome.measured <= outcome.target),
                        "\(queue) run \(run): \(outcome.measured) ms on the wrong side of \(outcome.target) ms")
            }
        }
        #expect(chart.elements.contains { $0.classes.contains("legend-key") && $0.classes.contains("undecided") })
    }
}
