import Foundation

/// Trials as CSV or JSON lines, for spreadsheets, pandas and jq.
public enum TrialExport {
    static let fixedColumns = ["number", "architecture", "fidelity", "role", "status", "objective", "cost",
                               "asked_at", "told_at", "ask_seconds", "evaluate_seconds", "tell_seconds"]

    /// ISO 8601 in UTC with milliseconds (`2026-12-06T23:14:06.614Z`), written by hand: Foundation's
    /// ISO8601DateFormatter builds an ICU formatter per call, most of the time of a 10^5-trial export.
    static func iso(_ d: Date?) -> String {
        guard let d else { return "" }
        let milliseconds = Int64((d.timeIntervalSince1970 * 1000).rounded())
        var seconds = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let text = String(v)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let millis = Int32(((milliseconds % 1000) + 1000) % 1000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(millis, 3))Z"
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
