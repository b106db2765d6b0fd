/// When a search stops. Any limit left nil is not checked; the search stops at the first limit
/// reached. A limit is checked before each proposal, so the last trial may overshoot a cost or
/// time limit by at most one evaluation.
public struct Budget: Codable, Equatable, Sendable, CustomStringConvertible {
    /// Number of evaluations (trials), whatever their fidelity.
    public var queries: Int?
    /// Wall-clock seconds spent by this search (summed over interrupted sessions).
    public var seconds: Double?
    /// Simulated cost in the estimator's unit (epochs for the NB201 table).
    public var cost: Double?

    public init(queries: Int? = nil, seconds: Double? = nil, cost: Double? = nil) {
        self.queries = queries
        self.seconds = seconds
        self.cost = cost
    }

    public var isUnlimited: Bool { queries == nil && seconds == nil && cost == nil }

    /// What is wrong with the limits, or nil: a search must be able to stop, and start.
    public var problem: String? {
        if let q = queries, q < 1 { return "budget queries must be at least 1 (got \(q))" }
        if let s = seconds, !(s.isFinite && s > 0) { return "budget seconds must be a positive number (got \(s))" }
        if let c = cost, !(c.isFinite && c > 0) { return "budget cost must be a positive number (got \(c))" }
        return nil
    }

    /// Whether a search that has used this much may not start another trial.
    public func isExhausted(queries q: Int, seconds s: Double, cost c: Double) -> Bool {
        if let limit = queries, q >= limit { return true }
        if let limit = seconds, s >= limit { return true }
        if let limit = cost, c >= limit { return true }
        return false
    }

    public var description: String {
        var parts: [String] = []
        if let q = queries { parts.append("\(q) queries") }
        if let s = seconds { parts.append("\(s) s") }
        if let c = cost { parts.append("cost \(c)") }
        return parts.isEmpty ? "unlimited" : parts.joined(separator: ", ")
    }
}
