import Foundation

/// Trials as CSV or JSON lines, for spreadsheets, pandas and jq.
public enum TrialExport {
    static let fixedColumns = ["number", "architecture", "fidelity", "role", "status", "objective", "cost",
                               "asked_at", "told_at", "ask_seconds", "evaluate_seconds", "tell_seconds"]

    private static func iso(_ d: Date?) -> String {
        guard let d else { return "" }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: d)
    }

    private static func number(_ v: Double?) -> String { v.map { "\($0)" } ?? "" }

    /// RFC 4180 quoting where a field needs it.
    private static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Header plus one line per trial; metric columns are the union of all trials' metrics, sorted.
    public static func csv(_ trials: [TrialRecord]) -> String {
        let metrics = Set(trials.flatMap(\.metrics.keys)).sorted()
        var out = (fixedColumns + metrics).map(field).joined(separator: ",") + "\n"
        for t in trials {
            var row = [String(t.number), t.architecture, t.fidelity.map(String.init) ?? "", t.role.rawValue,
                       t.status.rawValue, number(t.objective), number(t.cost), iso(t.askedAt), iso(t.toldAt),
                       number(t.askSeconds), number(t.evaluateSeconds), number(t.tellSeconds)]
            row += metrics.map { number(t.metrics[$0]) }
            out += row.map(field).joined(separator: ",") + "\n"
        }
        return out
    }

    /// One JSON object per line, keys sorted.
    public static func jsonLines(_ trials: [TrialRecord]) -> String {
        var out = ""
        for t in trials {
            var object: [String: Any] = [
                "number": t.number, "architecture": t.architecture, "role": t.role.rawValue,
                "status": t.status.rawValue, "asked_at": iso(t.askedAt), "ask_seconds": t.askSeconds,
                "metrics": t.metrics,
            ]
            if let v = t.fidelity { object["fidelity"] = v }
            if let v = t.objective { object["objective"] = v }
            if let v = t.cost { object["cost"] = v }
            if let v = t.toldAt { object["told_at"] = iso(v) }
            if let v = t.evaluateSeconds { object["evaluate_seconds"] = v }
            if let v = t.tellSeconds { object["tell_seconds"] = v }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            out += String(decoding: data, as: UTF8.self) + "\n"
        }
        return out
    }
}
