import Foundation

/// The checklist of human intervention in a search (after the random-search multimodal NAS paper's
/// call to report it): every decision of the run with its value and who made it — the user (a
/// flag or a config file), SwiftNAS's defaults (hand-set by its authors), or the search itself.
/// Printed with the run and stored in the trial store's experiment record.
public struct HumanInterventionChecklist: Codable, Equatable, Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        /// data, space, search, training, selection, output, or searched.
        public var stage: String
        public var decision: String
        public var value: String
        /// `searched`, `flag --name`, `config file`, or `default`.
        public var setBy: String

        public init(_ stage: String, _ decision: String, _ value: String, setBy: String) {
            (self.stage, self.decision, self.value, self.setBy) = (stage, decision, value, setBy)
        }

        public var isSearched: Bool { setBy == "searched" }
    }

    public var entries: [Entry]

    public init(_ entries: [Entry] = []) { self.entries = entries }

    public mutating func add(_ stage: String, _ decision: String, _ value: String, setBy: String) {
        entries.append(Entry(stage, decision, value, setBy: setBy))
    }

    /// A plain-text table: stage, decision, value, set by; the counts of hand-set and searched last.
    public func table() -> String {
        let header = ["stage", "decision", "value", "set by"]
        let rows = [header] + entries.map { [$0.stage, $0.decision, $0.value, $0.setBy] }
        let widths = (0..<4).map { c in rows.map { $0[c].count }.max() ?? 0 }
        func line(_ r: [String]) -> String {
            r.enumerated().map { c, v in c == 3 ? v : v.padding(toLength: widths[c], withPad: " ", startingAt: 0) }.joined(separator: " | ")
        }
        let searched = entries.filter(\.isSearched).count
        return ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "-|-")] + entries.map { line([$0.stage, $0.decision, $0.value, $0.setBy]) }
                + ["\(entries.count - searched) decisions hand-set, \(searched) searched"]).joined(separator: "\n")
    }
}
