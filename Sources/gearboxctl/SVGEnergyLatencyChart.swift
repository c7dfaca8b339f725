import Foundation
import GearboxCore
import GearboxSimulator

/// `compare --svg`: host power against each queue's measured latency, one panel per queue,
/// one marker per policy, numbered as in the legend beside the panels; the region beyond
/// the target is shaded. A marker is filled when the queue met its target, hollow when it
/// missed it, and dashed with a "?" when the run cannot tell (the target lies inside the
/// 95 % interval of the measurement, as in the table). Hand-written, self-contained SVG;
/// the class and data-run attributes name what each element shows.
struct SVGEnergyLatencyChart {
    var title: String
    var results: [SimulationResult]

    static let panelWidth = 440.0, panelHeight = 390.0, legendWidth = 270.0
    static let left = 64.0, right = 18.0, top = 64.0, bottom = 58.0
    static let markerRadius = 6.5
    /// The strip at a plot's right edge for latencies too far beyond the target to scale.
    static let offScaleWidth = 46.0
    static let labelSize = 11.0
    static let palette = ["#1b9e77", "#66a61e", "#7570b3", "#e7298a", "#d95f02", "#e6ab02",
                          "#a6761d", "#1f78b4", "#666666", "#b2182b"]

    enum Verdict: String { case met, missed, undecided }

    var svg: String {
        let queueCount = results.first?.queues.count ?? 0
        let width = Double(queueCount) * Self.panelWidth + Self.legendWidth
        let height = max(Self.panelHeight, Self.top + 40 + Double(results.count) * 22 + 120)
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" \
            viewBox="0 0 \(f(width)) \(f(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
            <rect width="100%" height="100%" fill="white"/>

            """
        out += text(16, 24, title, size: 16, weight: "bold")
        // One power axis for every panel: a run draws one power, whatever the queue.
        let power = ChartAxis.linear(covering: results.map(\.power.value))
        for q in 0..<queueCount {
            out += panel(queue: q, x0: Double(q) * Self.panelWidth, power: power)
        }
        out += legend(x0: Double(queueCount) * Self.panelWidth)
        return out + "</svg>\n"
    }

    private func color(_ i: Int) -> String { Self.palette[i % Self.palette.count] }

    /// Latencies beyond 4 × the target (or 4 × the fastest policy's, when every policy is
    /// slower than the target) are drawn in an off-scale strip with their value printed: a
    /// policy that far out misses its target beyond doubt, and scaling the axis to it (an
    /// overloaded powersave runs into seconds) would squeeze the band where the policies
    /// differ into a few pixels.
    static func offScaleThreshold(targetMs: Double, latenciesMs: [Double]) -> Double {
        4 * max(targetMs, latenciesMs.min() ?? targetMs)
    }

    private struct Marker {
        var run: Int
        var x: Double, y: Double
        var verdict: Verdict
        var offScale: Bool
        var label: String
        /// The area the marker covers, kept clear of labels.
        var box: ChartBox {
            offScale ? ChartBox(minX: x - 8.5, minY: y - 9.5, maxX: x + 8.5, maxY: y + 9.5)
                : ChartBox(centerX: x, centerY: y, width: 2 * markerRadius + 3, height: 2 * markerRadius + 3)
        }
    }

    private func panel(queue q: Int, x0: Double, power: ChartAxis) -> String {
        let target = results[0].queues[q].target
        let kind = target.kind.rawValue
        let targetMs = target.seconds * 1000
        let latencies = results.map { $0.queues[q].measured * 1000 }
        let drawable = latencies.filter { $0.isFinite && $0 > 0 }
        let threshold = Self.offScaleThreshold(targetMs: targetMs, latenciesMs: drawable)
        let hasOffScale = drawable.contains { $0 > threshold }
        let latency = ChartAxis.latency(covering: drawable.filter { $0 <= threshold } + [targetMs])
        let plot = ChartBox(minX: x0 + Self.left, minY: Self.top,
                            maxX: x0 + Self.panelWidth - Self.right, maxY: Self.panelHeight - Self.bottom)
        let scaleRight = hasOffScale ? plot.maxX - Self.offScaleWidth : plot.maxX
        let offScaleX = scaleRight + Self.offScaleWidth / 2 + 2
        func x(_ ms: Double) -> Double { plot.minX + latency.fraction(ms) * (scaleRight - plot.minX) }
        func y(_ watts: Double) -> Double { plot.maxY - power.fraction(watts) * (plot.maxY - plot.minY) }

        var s = "<g class=\"panel\" data-queue=\"\(escape(results[0].queues[q].name))\">\n"
        s += text(x0 + Self.left, 44, "queue \(results[0].queues[q].name): \(kind) latency, target \(CompareTable.milliseconds(target.seconds)) ms", size: 13, weight: "bold")
        let tx = x(targetMs)
        s += rect(ChartBox(minX: tx, minY: plot.minY, maxX: plot.maxX, maxY: plot.maxY), fill: "#fbe3e3", stroke: "none")
        // Above the plot, where no marker label can run into it, from the target line rightwards
        // (or ending at the plot's edge when the target is near it).
        let missesLabel = "misses target \u{2192}"
        if tx + 4 + ChartText.width(missesLabel, size: 10, bold: false) <= plot.maxX {
            s += text(tx + 4, plot.minY - 5, missesLabel, size: 10, fill: "#b2182b")
        } else {
            s += text(plot.maxX, plot.minY - 5, missesLabel, size: 10, anchor: "end", fill: "#b2182b")
        }
        s += powerGrid(power, plot: plot, y: y)
        if hasOffScale { s += offScaleStrip(plot: plot, scaleRight: scaleRight) }
        s += latencyGrid(latency, targetMs: targetMs, plot: plot, scaleRight: scaleRight,
                         offScaleX: hasOffScale ? offScaleX : nil, x: x)
        s += "<line class=\"target\" x1=\"\(f(tx))\" y1=\"\(f(plot.minY))\" x2=\"\(f(tx))\" y2=\"\(f(plot.maxY))\" stroke=\"#b2182b\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n"
        s += rect(plot, fill: "none", stroke: "#333", cssClass: "plot")
        s += text((plot.minX + plot.maxX) / 2, Self.panelHeight - 18,
                  "\(kind) response time (ms\(latency.scale == .logarithmic ? ", log scale" : ""))", size: 12, anchor: "middle")
        let midY = (plot.minY + plot.maxY) / 2
        s += "<text x=\"\(f(x0 + 16))\" y=\"\(f(midY))\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 \(f(x0 + 16)) \(f(midY)))\">host power (W)</text>\n"

        var markers: [Marker] = []
        for (i, r) in results.enumerated() {
            let outcome = r.queues[q]
            let ms = latencies[i]
            guard ms.isFinite, ms > 0, r.power.value.isFinite else { continue }
            let offScale = ms > threshold
            let verdict: Verdict = outcome.undecided ? .undecided : (outcome.met ? .met : .missed)
            markers.append(Marker(run: i + 1, x: offScale ? offScaleX : x(ms), y: y(r.power.value), verdict: verdict,
                                  offScale: offScale,
                                  label: offScale ? "\(i + 1): \(CompareTable.milliseconds(ms / 1000)) ms" : "\(i + 1)"))
        }
        s += markersAndLabels(markers, inside: plot)
        return s + "</g>\n"
    }

    private func powerGrid(_ power: ChartAxis, plot: ChartBox, y: (Double) -> Double) -> String {
        var s = ""
        for tick in power.ticks {
            let ty = y(tick)
            s += "<line class=\"power-grid\" x1=\"\(f(plot.minX))\" y1=\"\(f(ty))\" x2=\"\(f(plot.maxX))\" y2=\"\(f(ty))\" stroke=\"#e4e4e4\"/>\n"
            s += text(plot.minX - 6, ty + 4, CompareTable.format(tick, digits: power.tickDecimals), size: 11,
                      anchor: "end", cssClass: "power-tick")
        }
        return s
    }

    /// Grid lines at every tick; a tick's number only where it clears the target's (drawn
    /// in bold), the off-scale strip's and the previous tick's.
    private func latencyGrid(_ latency: ChartAxis, targetMs: Double, plot: ChartBox, scaleRight: Double,
                             offScaleX: Double?, x: (Double) -> Double) -> String {
        let baseline = plot.maxY + 16
        func centered(_ label: String, at cx: Double, size: Double, bold: Bool) -> ChartBox {
            let w = ChartText.width(label, size: size, bold: bold)
            return ChartText.box(label, left: cx - w / 2, baseline: baseline, size: size, bold: bold).padded(by: 3)
        }
        let targetLabel = CompareTable.format(targetMs, digits: min(ChartAxis.decimals(targetMs), 2))
        var taken = [centered(targetLabel, at: x(targetMs), size: 11, bold: true)]
        var s = text(x(targetMs), baseline, targetLabel, size: 11, anchor: "middle", weight: "bold", fill: "#b2182b",
                     cssClass: "target-tick")
        if let offScaleX {
            taken.append(centered(Self.offScaleLabel, at: offScaleX, size: 10, bold: false))
            s += text(offScaleX, baseline, Self.offScaleLabel, size: 10, anchor: "middle", fill: "#444")
        }
        for tick in latency.ticks {
            let tx = x(tick)
            guard tx <= scaleRight + 0.01 else { continue }
            s += "<line class=\"latency-grid\" x1=\"\(f(tx))\" y1=\"\(f(plot.minY))\" x2=\"\(f(tx))\" y2=\"\(f(plot.maxY))\" stroke=\"#e4e4e4\"/>\n"
            // A linear axis prints every tick with the same decimals; a log axis each as it needs.
            let digits = latency.scale == .linear ? latency.tickDecimals : ChartAxis.decimals(tick)
            let label = CompareTable.format(tick, digits: digits)
            let box = centered(label, at: tx, size: 11, bold: false)
            if taken.contains(where: box.intersects) { continue }
            taken.append(box)
            s += text(tx, baseline, label, size: 11, anchor: "middle", cssClass: "latency-tick")
        }
        return s
    }

    static let offScaleLabel = "off scale"

    /// A break in the plot (a white gap with slanted marks on the frame) before the strip
    /// that holds latencies too large to scale.
    private func offScaleStrip(plot: ChartBox, scaleRight: Double) -> String {
        let gapLeft = scaleRight + 3
        var s = rect(ChartBox(minX: gapLeft, minY: plot.minY - 1, maxX: gapLeft + 5, maxY: plot.maxY + 1), fill: "white", stroke: "none")
        for edge in [plot.minY, plot.maxY] {
            for dx in [0.0, 5] {
                s += "<line x1=\"\(f(gapLeft + dx - 3))\" y1=\"\(f(edge + 5))\" x2=\"\(f(gapLeft + dx + 3))\" y2=\"\(f(edge - 5))\" stroke=\"#333\"/>\n"
            }
        }
        return s
    }

    /// Leader lines, then the markers, then their labels (on a white halo, so that they read
    /// over grid lines and the shaded region).
    private func markersAndLabels(_ markers: [Marker], inside plot: ChartBox) -> String {
        var placer = ChartLabelPlacer(
            bounds: ChartBox(minX: plot.minX + 2, minY: plot.minY + 2, maxX: plot.maxX - 2, maxY: plot.maxY - 2),
            obstacles: markers.map(\.box), anchors: markers.map { ($0.x, $0.y) })
        var leaders = "", shapes = "", labels = ""
        for m in markers {
            let color = color(m.run - 1)
            let width = ChartText.width(m.label, size: Self.labelSize, bold: true) + 2
            let placement = placer.place(width: width, height: 1.04 * Self.labelSize + 2, nearX: m.x, y: m.y,
                                         clearance: m.offScale ? 9.5 : Self.markerRadius + 1.5)
            let box = placement.box
            if placement.needsLeader {
                let end = box.nearestPoint(toX: m.x, y: m.y)
                let length = max(hypot(end.x - m.x, end.y - m.y), 1e-9)
                let startX = m.x + (end.x - m.x) / length * Self.markerRadius
                let startY = m.y + (end.y - m.y) / length * Self.markerRadius
                leaders += "<line class=\"leader\" data-run=\"\(m.run)\" x1=\"\(f(startX))\" y1=\"\(f(startY))\" x2=\"\(f(end.x))\" y2=\"\(f(end.y))\" stroke=\"\(color)\" stroke-width=\"1\"/>\n"
            }
            shapes += marker(m, color: color)
            labels += "<text class=\"marker-label\" data-run=\"\(m.run)\" x=\"\(f(box.minX + 1))\" y=\"\(f(box.minY + 1 + 0.82 * Self.labelSize))\" font-size=\"\(f(Self.labelSize))\" text-anchor=\"start\" font-weight=\"bold\" fill=\"\(color)\" stroke=\"white\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\">\(escape(m.label))</text>\n"
        }
        return leaders + shapes + labels
    }

    private func marker(_ m: Marker, color: String) -> String {
        "<g class=\"marker \(m.verdict.rawValue)\(m.offScale ? " off-scale" : "")\" data-run=\"\(m.run)\" transform=\"translate(\(f(m.x)) \(f(m.y)))\">"
            + Self.shape(verdict: m.verdict, offScale: m.offScale, color: color) + "</g>\n"
    }

    /// A marker's drawing around (0, 0): a circle, or a triangle pointing right when off
    /// scale; filled when met, hollow when missed, dashed around a "?" when undecided.
    static func shape(verdict: Verdict, offScale: Bool, color: String) -> String {
        let fill = verdict == .met ? color : "white"
        let dash = verdict == .undecided ? " stroke-dasharray=\"3 2\"" : ""
        let stroke = "fill=\"\(fill)\" stroke=\"\(color)\" stroke-width=\"\(verdict == .undecided ? 2 : 2.5)\"\(dash)"
        var s = offScale ? "<path d=\"M -8 -9 L 7 0 L -8 9 Z\" \(stroke)/>" : "<circle r=\"\(markerRadius)\" \(stroke)/>"
        if verdict == .undecided {
            s += "<text x=\"\(offScale ? -2 : 0)\" y=\"3.5\" font-size=\"10\" font-weight=\"bold\" text-anchor=\"middle\" fill=\"\(color)\">?</text>"
        }
        return s
    }

    private func legend(x0: Double) -> String {
        var s = "<g class=\"legend\">\n" + text(x0 + 8, Self.top - 4, "policy", size: 13, weight: "bold")
        s += text(x0 + Self.legendWidth - 16, Self.top - 4, "W", size: 13, anchor: "end", weight: "bold")
        var y = Self.top + 18
        for (i, r) in results.enumerated() {
            s += text(x0 + 8, y, "\(i + 1)", size: 12, weight: "bold", fill: color(i))
            s += text(x0 + 28, y, CompareTable.label(r), size: 12)
            s += text(x0 + Self.legendWidth - 16, y, CompareTable.format(r.power.value, digits: 2), size: 12, anchor: "end")
            y += 22
        }
        y += 14
        s += text(x0 + 8, y, "each queue\u{2019}s marker", size: 12, weight: "bold")
        let keys: [(Verdict, Bool, String)] = [
            (.met, false, "target met"), (.missed, false, "target missed"),
            (.undecided, false, "undecided: target inside"), (.missed, true, "off scale, value printed"),
        ]
        for (verdict, offScale, meaning) in keys {
            y += 24
            s += "<g class=\"legend-key \(verdict.rawValue)\(offScale ? " off-scale" : "")\" transform=\"translate(\(f(x0 + 18)) \(f(y - 4)))\">"
                + Self.shape(verdict: verdict, offScale: offScale, color: "#666666") + "</g>\n"
            s += text(x0 + 34, y, meaning, size: 12)
            if verdict == .undecided {
                y += 16
                s += text(x0 + 34, y, "the 95 % interval: run longer", size: 12)
            }
        }
        return s + "</g>\n"
    }

    private func rect(_ b: ChartBox, fill: String, stroke: String, cssClass: String? = nil) -> String {
        "<rect\(cssClass.map { " class=\"\($0)\"" } ?? "") x=\"\(f(b.minX))\" y=\"\(f(b.minY))\" width=\"\(f(b.maxX - b.minX))\" height=\"\(f(b.maxY - b.minY))\" fill=\"\(fill)\" stroke=\"\(stroke)\"/>\n"
    }

    private func text(
        _ x: Double, _ y: Double, _ content: String, size: Int, anchor: String = "start",
        weight: String = "normal", fill: String = "#222", cssClass: String? = nil
    ) -> String {
        "<text\(cssClass.map { " class=\"\($0)\"" } ?? "") x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(size)\" text-anchor=\"\(anchor)\" font-weight=\"\(weight)\" fill=\"\(fill)\">\(escape(content))</text>\n"
    }

    private func f(_ v: Double) -> String { CompareTable.format(v, digits: 2) }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

extension ChartBox {
    func padded(by d: Double) -> ChartBox { ChartBox(minX: minX - d, minY: minY - d, maxX: maxX + d, maxY: maxY + d) }
}
