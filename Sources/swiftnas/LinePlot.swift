import Foundation

/// A hand-written SVG line chart: several series of (x, y) points, optionally with a log-scale
/// y axis, a legend, axis labels and a title. Enough for the curves the CLI writes (gradient
/// norms per block, losses per epoch, a search's trials); no scripts, no external styles.
struct LinePlot {
    struct Series {
        var label: String
        var color: String
        var dashed = false
        /// Points as dots instead of a line (a scatter plot). All dots are one path of zero-length
        /// round-capped segments, a few bytes each, so 10^5 trials stay a small, fast page.
        var dots = false
        var points: [(x: Double, y: Double)]
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var logY = false
    var series: [Series] = []

    static func escaped(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    func svg(width w: Double = 720, height h: Double = 440) -> String {
        let left = 80.0, right = 170.0, top = 40.0, bottom = 50.0
        func ty(_ y: Double) -> Double { logY ? Foundation.log10(Swift.max(y, 1e-30)) : y }
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
        let xLow = all.map(\.x).min() ?? 0, xHigh = Swift.max(all.map(\.x).max() ?? 1, xLow + 1e-9)
        var yLow = all.map { ty($0.y) }.min() ?? 0, yHigh = all.map { ty($0.y) }.max() ?? 1
        if logY { yLow = Foundation.floor(yLow); yHigh = Foundation.ceil(yHigh) }
        if yHigh - yLow < 1e-12 { yHigh = yLow + 1 }
        func px(_ x: Double) -> Double { left + (x - xLow) / (xHigh - xLow) * (w - left - right) }
        func py(_ y: Double) -> Double { h - bottom - (ty(y) - yLow) / (yHigh - yLow) * (h - top - bottom) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\((w - right + left) / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">\(Self.escaped(title))</text>\n"
        s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left, h - bottom, w - right, h - bottom)
        s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left, top, left, h - bottom)
        // y ticks: powers of ten on a log axis, eight steps otherwise.
        let steps = logY ? Int(yHigh - yLow) : 8
        for i in 0...Swift.max(steps, 1) {
            let t = yLow + Double(i) * (yHigh - yLow) / Double(Swift.max(steps, 1))
            let value = logY ? Foundation.pow(10, t) : t
            let y = h - bottom - (t - yLow) / (yHigh - yLow) * (h - top - bottom)
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", left, y, w - right, y)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n", left - 6, y + 4, String(format: "%.3g", value))
        }
        // x ticks at a round step (1, 2 or 5 × a power of ten), about eight of them.
        let raw = (xHigh - xLow) / 8, power = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * power }.first { $0 >= raw } ?? raw
        var x = Foundation.ceil(xLow / step) * step
        while x <= xHigh + 1e-9 * step {
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", px(x), h - bottom + 18, String(format: "%g", x))
            x += step
        }
        s += "<text x=\"\((w - right + left) / 2)\" y=\"\(h - 10)\" text-anchor=\"middle\">\(Self.escaped(xLabel))</text>\n"
        s += String(format: "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 18 %.1f)\">%@</text>\n",
                    h / 2, h / 2, Self.escaped(yLabel))
        for (k, line) in series.enumerated() {
            let pts = line.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
            let dash = line.dashed ? " stroke-dasharray=\"6 4\"" : ""
            if line.dots {
                let path = pts.map { String(format: "M%.1f %.1fh0", px($0.x), py($0.y)) }.joined()
                if !path.isEmpty {
                    s += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"4\" stroke-linecap=\"round\" opacity=\"0.6\"/>\n"
                }
            } else {
                let path = pts.enumerated().map { i, p in String(format: "%@%.1f %.1f", i == 0 ? "M " : " L ", px(p.x), py(p.y)) }.joined()
                if !path.isEmpty { s += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.8\"\(dash)/>\n" }
            }
            let ly = top + 8 + Double(k) * 18
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"1.8\"%@/>",
                        w - right + 12, ly, w - right + 40, ly, line.color, dash)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\">%@</text>\n", w - right + 46, ly + 4, Self.escaped(line.label))
        }
        s += "</svg>\n"
        return s
    }
}
