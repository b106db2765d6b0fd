import Foundation
import NASArchitectures
import NASExperiment

/// A search as one static HTML page with inline SVG (no scripts, nothing fetched): the settings,
/// the best objective so far against queries, cost and time, every trial's objective, the
/// operations of the best decile, the Pareto front of objective and size when the trials have a
/// size, and the final architecture (an NB201 cell as its graph).
enum ReportPage {
    struct NoFinishedTrial: Error, CustomStringConvertible {
        let store: String
        var description: String { "the store \(store) has no finished trial yet" }
    }

    /// The incumbent's objective after each finished trial, and what had been spent by then.
    struct BestSoFar {
        var queries, cost, seconds, objective: Double
    }

    static func html(configuration c: ExperimentConfiguration, trials: [TrialRecord], store: String,
                     refreshSeconds: Int? = nil) throws -> String {
        let done = trials.filter { $0.status == .complete && ($0.objective?.isFinite ?? false) }
        guard !done.isEmpty else { throw NoFinishedTrial(store: store) }
        var tracker = IncumbentTracker(reportMetric: c.report)
        var best: [BestSoFar] = []
        var cost = 0.0, seconds = 0.0
        for (i, t) in done.enumerated() {
            tracker.update(t)
            cost += t.cost ?? 0
            seconds += t.seconds
            if let inc = tracker.incumbent { best.append(BestSoFar(queries: Double(i + 1), cost: cost, seconds: seconds, objective: inc.objective)) }
        }
        let incumbent = tracker.incumbent

        var page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        if let r = refreshSeconds { page += "<meta http-equiv=\"refresh\" content=\"\(r)\">" }
        page += "<title>SwiftNAS search: \(e(c.space)) × \(e(c.strategy))</title>\n"
        page += "<style>body{font-family:sans-serif;max-width:1500px;margin:1em auto;padding:0 1em}"
        page += "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
        page += "figure{display:inline-block;margin:0.5em}code{background:#f4f4f4}</style></head><body>\n"
        page += "<h1>SwiftNAS search: \(e(c.space)) × \(e(c.strategy)) × \(e(c.estimator))</h1>\n"
        page += "<p>\(done.count) finished trials of \(trials.count) in <code>\(e(store))</code>"
        if let inc = incumbent {
            page += String(format: "; best: trial %d, %@ = %.4f", inc.trial, e(c.objective), inc.objective)
            if let r = inc.report { page += String(format: ", %@ = %.4f", e(c.report), r) }
        }
        page += ".</p>\n"

        page += "<h2>Best so far</h2>\n"
        let axes: [(String, KeyPath<BestSoFar, Double>)] = [("queries", \.queries), ("cost", \.cost), ("seconds", \.seconds)]
        for (label, x) in axes {
            var plot = LinePlot(title: "Best \(c.objective) against \(label)", xLabel: label, yLabel: c.objective)
            plot.series = [.init(label: "best so far", color: "#1f77b4", points: best.map { ($0[keyPath: x], $0.objective) })]
            page += "<figure>\(plot.svg(width: 480, height: 320))</figure>\n"
        }

        page += "<h2>Every trial</h2>\n"
        var scatter = LinePlot(title: "Objective of each trial", xLabel: "trial", yLabel: c.objective)
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
        let fidelities = Array(Set(done.map { $0.fidelity ?? 0 })).sorted()
        scatter.series = fidelities.enumerated().map { k, f in
            .init(label: f == 0 ? "trials" : "\(f) epochs", color: colors[k % colors.count], dots: true,
                  points: done.filter { ($0.fidelity ?? 0) == f }.map { (Double($0.number), $0.objective ?? .nan) })
        }
        page += "<figure>\(scatter.svg(width: 960, height: 380))</figure>\n"

        if let pareto = paretoSection(done, objective: c.objective) { page += pareto }
        page += operationSection(done)

        page += "<h2>Final architecture</h2>\n"
        if let inc = incumbent {
            page += "<p><code>\(e(inc.architecture))</code> (trial \(inc.trial))</p>\n"
            if let cell = try? NB201Cell(parsing: inc.architecture) { page += "<figure>\(CellGraphDrawing.svg(cell))</figure>\n" }
        }

        page += "<h2>Settings</h2>\n<table>\n"
        var rows: [(String, String)] = [("space", c.space), ("strategy", c.strategy), ("seed", String(c.seed)),
                                        ("objective", c.objective), ("report", c.report), ("estimator", c.estimator),
                                        ("budget", c.budget.description)]
        rows += c.hyperparameters.keys.sorted().map { ("hyper-parameter \($0)", c.hyperparameters[$0] ?? "") }
        page += rows.map { "<tr><th>\(e($0.0))</th><td>\(e($0.1))</td></tr>" }.joined(separator: "\n") + "\n</table>\n"
        if let checklist = c.checklist, !checklist.entries.isEmpty {
            page += "<h2>Human intervention checklist</h2>\n<table><tr><th>stage</th><th>decision</th><th>value</th><th>set by</th></tr>\n"
            page += checklist.entries.map { "<tr><td>\(e($0.stage))</td><td>\(e($0.decision))</td><td>\(e($0.value))</td><td>\(e($0.setBy))</td></tr>" }
                .joined(separator: "\n")
            let searched = checklist.entries.filter(\.isSearched).count
            page += "\n</table>\n<p>\(checklist.entries.count - searched) decisions hand-set, \(searched) searched.</p>\n"
        }
        page += "</body></html>\n"
        return page
    }

    static func e(_ s: String) -> String { LinePlot.escaped(s).replacingOccurrences(of: "\"", with: "&quot;") }

    /// Objective against the trials' size (the first size metric they carry), with the front of
    /// trials no other beats on both: higher objective and fewer parameters.
    static func paretoSection(_ done: [TrialRecord], objective: String) -> String? {
        guard let key = ["params_m", "parameters", "latency_ms"].first(where: { k in done.contains { $0.metrics[k] != nil } }) else { return nil }
        let points = done.compactMap { t in t.metrics[key].map { (x: $0, y: t.objective ?? .nan) } }.filter { $0.x.isFinite && $0.y.isFinite }
        var front: [(x: Double, y: Double)] = []
        for p in points.sorted(by: { $0.x < $1.x || ($0.x == $1.x && $0.y > $1.y) }) where front.last.map({ p.y > $0.y }) ?? true {
            front.append(p)
        }
        var plot = LinePlot(title: "Pareto front: \(objective) against \(key)", xLabel: key, yLabel: objective)
        plot.series = [.init(label: "trials", color: "#999", dots: true, points: points),
                       .init(label: "Pareto front", color: "#d62728", points: front)]
        return "<h2>Pareto front</h2>\n<figure>\(plot.svg(width: 720, height: 380))</figure>\n"
            + "<p>\(front.count) trials on the front (no other trial has both a higher objective and a smaller \(e(key))).</p>\n"
    }

    /// How often each operation sits on each edge in the best tenth of the trials (NB201 cells).
    static func operationSection(_ done: [TrialRecord]) -> String {
        let ranked = done.sorted { ($0.objective ?? -.infinity) > ($1.objective ?? -.infinity) }
        let decile = ranked.prefix(max(1, done.count / 10)).compactMap { try? NB201Cell(parsing: $0.architecture) }
        guard !decile.isEmpty else { return "" }
        var s = "<h2>Operations of the best decile</h2>\n<p>Share of the best \(decile.count) trials (by objective) "
        s += "with each operation on each edge.</p>\n<table><tr><th>edge</th>"
        s += NB201Operation.allCases.map { "<th>\($0.token)</th>" }.joined() + "</tr>\n"
        for (edge, (to, from)) in NB201Cell.edges.enumerated() {
            s += "<tr><th>\(from) → \(to)</th>"
            for op in NB201Operation.allCases {
                let share = Double(decile.filter { $0[edge] == op }.count) / Double(decile.count)
                s += String(format: "<td style=\"background:rgba(31,119,180,%.2f)\">%.0f %%</td>", share * 0.8, share * 100)
            }
            s += "</tr>\n"
        }
        return s + "</table>\n"
    }
}
