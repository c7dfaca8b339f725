import Foundation
import GearboxCore
import GearboxSimulator

/// `compare --svg`: host power against each queue's measured latency, one panel per
/// queue, one point per policy; the region beyond the target is shaded. Hand-written SVG.
struct SVGEnergyLatencyChart {
    var title: String
    var results: [SimulationResult]

    static let panelWidth = 440.0, panelHeight = 380.0, legendWidth = 230.0
    static let left = 64.0, right = 18.0, top = 64.0, bottom = 58.0
    static let palette = ["#1b9e77", "#66a61e", "#7570b3", "#e7298a", "#d95f02", "#e6ab02",
                          "#a6761d", "#1f78b4", "#666666", "#b2182b"]

    var svg: String {
        let queueCount = results.first?.queues.count ?? 0
        let width = Double(queueCount) * Self.panelWidth + Self.legendWidth
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(Self.panelHeight))" \
            viewBox="0 0 \(Int(width)) \(Int(Self.panelHeight))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="16" y="24" font-size="16" font-weight="bold">\(escape(title))</text>

            """
        let maxWatts = results.map(\.power.value).max() ?? 1
        for q in 0..<queueCount {
            out += panel(queue: q, x0: Double(q) * Self.panelWidth, maxWatts: maxWatts)
        }
        out += legend(x0: Double(queueCount) * Self.panelWidth)
        return out + "</svg>\n"
    }

    private func color(_ i: Int) -> String { Self.palette[i % Self.palette.count] }

    private func panel(queue q: Int, x0: Double, maxWatts: Double) -> String {
        let target = results[0].queues[q].target
        let kind = target.kind.rawValue
        let targetMs = target.seconds * 1000
        // Far misses (an overloaded powersave runs into seconds) would squeeze everything
        // else into a corner: the axis stops at 20 × the target and they sit on its edge.
        let ceiling = 20 * targetMs
        let latencies = results.map { min($0.queues[q].measured * 1000, ceiling) }.filter { $0.isFinite && $0 > 0 }
        let lo = log10((latencies + [targetMs]).min()! / 1.6)
        let hi = log10((latencies + [targetMs]).max()! * 1.6)
        let plotLeft = x0 + Self.left, plotRight = x0 + Self.panelWidth - Self.right
        let plotTop = Self.top, plotBottom = Self.panelHeight - Self.bottom
        let yMax = niceCeiling(maxWatts * 1.12)
        func x(_ ms: Double) -> Double { plotLeft + (log10(ms) - lo) / (hi - lo) * (plotRight - plotLeft) }
        func y(_ w: Double) -> Double { plotBottom - w / yMax * (plotBottom - plotTop) }

        let name = escape(results[0].queues[q].name)
        var s = "<g>\n"
        s += text(x0 + Self.left, 50, "queue \(name): \(kind) latency, target \(CompareTable.milliseconds(target.seconds)) ms", size: 13, weight: "bold")
        // The region beyond the target.
        let tx = x(targetMs)
        s += "<rect x=\"\(f(tx))\" y=\"\(f(plotTop))\" width=\"\(f(plotRight - tx))\" height=\"\(f(plotBottom - plotTop))\" fill=\"#fbe3e3\"/>\n"
        s += text(plotRight - 6, plotTop + 16, "misses target", size: 11, anchor: "end", fill: "#b2182b")
        s += "<line x1=\"\(f(tx))\" y1=\"\(f(plotTop))\" x2=\"\(f(tx))\" y2=\"\(f(plotBottom))\" stroke=\"#b2182b\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n"
        // Axes and grid.
        s += text(tx, plotBottom + 16, tickLabel(targetMs), size: 11, anchor: "middle", weight: "bold", fill: "#b2182b")
        for tick in logTicks(lo: lo, hi: hi) where abs(x(tick) - tx) > 24 {
            let tx = x(tick)
            s += "<line x1=\"\(f(tx))\" y1=\"\(f(plotTop))\" x2=\"\(f(tx))\" y2=\"\(f(plotBottom))\" stroke=\"#e4e4e4\"/>\n"
            s += text(tx, plotBottom + 16, tickLabel(tick), size: 11, anchor: "middle")
        }
        for i in 0...5 {
            let w = yMax * Double(i) / 5, ty = y(w)
            s += "<line x1=\"\(f(plotLeft))\" y1=\"\(f(ty))\" x2=\"\(f(plotRight))\" y2=\"\(f(ty))\" stroke=\"#e4e4e4\"/>\n"
            s += text(plotLeft - 6, ty + 4, CompareTable.format(w, digits: yMax < 1 ? 2 : (yMax < 10 ? 1 : 0)), size: 11, anchor: "end")
        }
        s += "<rect x=\"\(f(plotLeft))\" y=\"\(f(plotTop))\" width=\"\(f(plotRight - plotLeft))\" height=\"\(f(plotBottom - plotTop))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += text((plotLeft + plotRight) / 2, Self.panelHeight - 18, "\(kind) response time (ms, log scale)", size: 12, anchor: "middle")
        s += "<text x=\"\(f(x0 + 16))\" y=\"\(f((plotTop + plotBottom) / 2))\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 \(f(x0 + 16)) \(f((plotTop + plotBottom) / 2)))\">host power (W)</text>\n"
        // One point per policy, filled when this queue met its target; policies that land
        // on the same spot share one label.
        var labels: [(x: Double, y: Double, text: String, color: String)] = []
        for (i, r) in results.enumerated() {
            let measured = r.queues[q].measured * 1000
            guard measured.isFinite, measured > 0 else { continue }
            let px = x(min(measured, ceiling)), py = y(r.power.value)
            let fill = r.queues[q].met ? color(i) : "white"
            if measured > ceiling {
                s += "<path d=\"M \(f(px - 8)) \(f(py - 8)) L \(f(px + 2)) \(f(py)) L \(f(px - 8)) \(f(py + 8)) Z\" fill=\"\(fill)\" stroke=\"\(color(i))\" stroke-width=\"2.5\"/>\n"
            } else {
                s += "<circle cx=\"\(f(px))\" cy=\"\(f(py))\" r=\"7\" fill=\"\(fill)\" stroke=\"\(color(i))\" stroke-width=\"2.5\"/>\n"
            }
            let tag = measured > ceiling ? "\(i + 1): \(CompareTable.milliseconds(measured / 1000)) ms" : "\(i + 1)"
            if let k = labels.firstIndex(where: { abs($0.x - px) < 7 && abs($0.y - py) < 7 }) {
                labels[k].text += "," + tag
            } else {
                labels.append((px, py, tag, color(i)))
            }
        }
        for l in labels {
            let flip = l.x > plotRight - 60
            s += text(flip ? l.x - 12 : l.x + 10, l.y - 9, l.text, size: 11, anchor: flip ? "end" : "start",
                      weight: "bold", fill: l.color)
        }
        return s + "</g>\n"
    }

    private func legend(x0: Double) -> String {
        var s = "<g>\n" + text(x0 + 8, Self.top + 4, "policy (W)", size: 13, weight: "bold")
        for (i, r) in results.enumerated() {
            let y = Self.top + 26 + Double(i) * 24
            let fill = r.allTargetsMet ? color(i) : "white"
            s += "<circle cx=\"\(f(x0 + 16))\" cy=\"\(f(y - 4))\" r=\"7\" fill=\"\(fill)\" stroke=\"\(color(i))\" stroke-width=\"2.5\"/>\n"
            s += text(x0 + 30, y, "\(i + 1) \(CompareTable.label(r)) \(CompareTable.format(r.power.value, digits: 2))", size: 12)
        }
        let y = Self.top + 40 + Double(results.count) * 24
        s += text(x0 + 8, y, "filled: target met", size: 11, fill: "#444")
        s += text(x0 + 8, y + 16, "hollow: target missed", size: 11, fill: "#444")
        s += text(x0 + 8, y + 32, "(legend: all targets of the run)", size: 11, fill: "#444")
        s += text(x0 + 8, y + 48, "▶ at the edge: beyond 20 × target", size: 11, fill: "#444")
        return s + "</g>\n"
    }

    private func text(
        _ x: Double, _ y: Double, _ content: String, size: Int, anchor: String = "start",
        weight: String = "normal", fill: String = "#222"
    ) -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(size)\" text-anchor=\"\(anchor)\" font-weight=\"\(weight)\" fill=\"\(fill)\">\(escape(content))</text>\n"
    }

    private func f(_ v: Double) -> String { CompareTable.format(v, digits: 1) }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    private func log10(_ x: Double) -> Double { Math.log(x) / Math.log(10) }

    /// 1–2–5 ticks between 10^lo and 10^hi.
    private func logTicks(lo: Double, hi: Double) -> [Double] {
        var ticks: [Double] = []
        let multiples: [Double] = hi - lo > 2.5 ? [1] : (hi - lo > 1.5 ? [1, 3] : [1, 2, 5])
        var decade = Math.pow(10, lo.rounded(.down))
        while log10(decade) <= hi {
            for m in multiples where log10(decade * m) >= lo && log10(decade * m) <= hi {
                ticks.append(decade * m)
            }
            decade *= 10
        }
        return ticks
    }

    private func tickLabel(_ ms: Double) -> String {
        CompareTable.format(ms, digits: ms >= 1 ? 0 : (ms >= 0.1 ? 1 : 2))
    }

    /// The smallest of 1, 2, 2.5, 5 × 10^k at or above `x`.
    private func niceCeiling(_ x: Double) -> Double {
        guard x > 0 else { return 1 }
        let decade = Math.pow(10, log10(x).rounded(.down))
        for m in [1.0, 2, 2.5, 5, 10] where decade * m >= x { return decade * m }
        return decade * 10
    }
}
