import Foundation
import NASArchitectures

/// An NAS-Bench-201 cell drawn as its graph: nodes 0–3 left to right, one arrow per edge, labelled
/// with its operation; `none` edges (absent in the network) are drawn faint and dashed.
enum CellGraphDrawing {
    static func svg(_ cell: NB201Cell, width: Double = 720, height: Double = 300) -> String {
        let xs = (0..<NB201Cell.nodeCount).map { 70 + Double($0) * (width - 140) / Double(NB201Cell.nodeCount - 1) }
        let baseline = height / 2
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
        s += "<path d=\"M0 0L10 5L0 10z\" fill=\"#333\"/></marker></defs>\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        for (edge, (to, from)) in NB201Cell.edges.enumerated() {
            let op = cell[edge]
            let span = to - from
            // Adjacent nodes: a straight arrow; longer edges bend, above for even spans, below for odd.
            let bend = span == 1 ? 0 : (span == 2 ? -1.0 : 1.0) * (55 + 30 * Double(span - 2)) * (from == 0 ? 1 : 1.25)
            let x1 = xs[from] + 22, x2 = xs[to] - 22
            let mx = (x1 + x2) / 2, my = baseline + bend
            let style = op == .none ? "stroke=\"#bbb\" stroke-dasharray=\"5 4\"" : "stroke=\"#333\""
            s += String(format: "<path d=\"M%.1f %.1fQ%.1f %.1f %.1f %.1f\" fill=\"none\" %@ stroke-width=\"1.6\" marker-end=\"url(#arrow)\"/>\n",
                        x1, baseline, mx, baseline + 2 * bend, x2, baseline, style)
            let labelY = span == 1 ? baseline - 8 : my + (bend < 0 ? -6 : 14)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%@\">%@</text>\n",
                        mx, labelY, op == .none ? "#999" : "#000", op.token)
        }
        for (i, x) in xs.enumerated() {
            s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"20\" fill=\"#eef3fb\" stroke=\"#336\"/>", x, baseline)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\">%d</text>\n", x, baseline + 5, i)
        }
        s += "</svg>\n"
        return s
    }
}
