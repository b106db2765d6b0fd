import Foundation
import NASSpaces
import NASStrategies
import NASTensor

/// Where a trial is in its life: proposed and being evaluated, handed back for another worker to
/// evaluate (a shared store's worker stopped or went silent), or evaluated and told.
public enum TrialStatus: String, Codable, Sendable {
    case asked
    case queued
    case complete
}

/// One trial as the store keeps it: the proposal, its evaluation, and when and how long each
/// step took.
public struct TrialRecord: Codable, Equatable, Sendable {
    /// 0-based position in the order of asks.
    public var number: Int
    /// The space's string for the architecture (the NB201 cell string for nb201).
    public var architecture: String
    /// Fidelity in epochs, when the estimator has fidelities.
    public var fidelity: Int?
    public var role: TrialRole
    public var status: TrialStatus
    public var objective: Double?
    public var cost: Double?
    public var metrics: [String: Double]
    public var askedAt: Date
    public var toldAt: Date?
    /// Time the strategy spent deciding this proposal (`ask`).
    public var askSeconds: Double
    public var evaluateSeconds: Double?
    /// Time the strategy spent taking in the result (`tell`).
    public var tellSeconds: Double?

    public init(number: Int, architecture: String, fidelity: Int?, role: TrialRole, status: TrialStatus,
                objective: Double? = nil, cost: Double? = nil, metrics: [String: Double] = [:],
                askedAt: Date, toldAt: Date? = nil, askSeconds: Double,
                evaluateSeconds: Double? = nil, tellSeconds: Double? = nil) {
        self.number = number
        self.architecture = architecture
        self.fidelity = fidelity
        self.role = role
        self.status = status
        self.objective = objective
        self.cost = cost
        self.metrics = metrics
        self.askedAt = askedAt
        self.toldAt = toldAt
        self.askSeconds = askSeconds
        self.evaluateSeconds = evaluateSeconds
        self.tellSeconds = tellSeconds
    }

    /// Wall-clock seconds this trial has used so far.
    public var seconds: Double { askSeconds + (evaluateSeconds ?? 0) + (tellSeconds ?? 0) }

    /// Records the evaluation and the objective the strategy was told: the trial is complete.
    mutating func complete(_ evaluation: Evaluation, objective value: Double, evaluateSeconds: Double, tellSeconds: Double) {
        status = .complete
        objective = value
        cost = evaluation.cost
        metrics = evaluation.metrics
        self.evaluateSeconds = evaluateSeconds
        self.tellSeconds = tellSeconds
        toldAt = Date()
    }
}

/// How stores write a trial's row: its metrics as sorted JSON, and a checksum of the fields that
/// steer a search (timings excluded), so that a row changed outside SwiftNAS is refused on resume.
extension TrialRecord {
    var metricsJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(metrics)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func rowChecksum(number: Int, architecture: String, fidelity: Int?, role: String, status: String,
                            objective: Double?, cost: Double?, metrics: String) -> String {
        let text = "\(number)|\(architecture)|\(fidelity.map(String.init) ?? "-")|\(role)|\(status)|"
            + "\(objective.map { String($0.bitPattern) } ?? "-")|\(cost.map { String($0.bitPattern) } ?? "-")|\(metrics)"
        var c = Checksum()
        c.mix(text)
        return c.hex
    }

    /// Reads `metricsJSON` back. The flat object stores write (`{"name":number,…}`, names without
    /// escapes) is parsed directly — JSONDecoder was a third of reading 10^5 trials — and
    /// anything else goes through JSONDecoder, which also reports what is wrong.
    public static func metrics(fromJSON text: String) throws -> [String: Double] {
        if let fast = flatMetrics(text) { return fast }
        return try JSONDecoder().decode([String: Double].self, from: Data(text.utf8))
    }

    private static func flatMetrics(_ text: String) -> [String: Double]? {
        var utf8 = Array(text.utf8)
        guard utf8.first == UInt8(ascii: "{"), utf8.last == UInt8(ascii: "}") else { return nil }
        utf8.removeFirst()
        utf8.removeLast()
        var out: [String: Double] = [:]
        if utf8.isEmpty { return out }
        for entry in utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            guard let colon = entry.lastIndex(of: UInt8(ascii: ":")), entry.first == UInt8(ascii: "\""),
                  colon > entry.startIndex + 1, entry[colon - 1] == UInt8(ascii: "\"") else { return nil }
            let name = entry[(entry.startIndex + 1)..<(colon - 1)]
            guard !name.contains(UInt8(ascii: "\"")), !name.contains(UInt8(ascii: "\\")),
                  let value = Double(String(decoding: entry[(colon + 1)...], as: UTF8.self)), value.isFinite,
                  out.updateValue(value, forKey: String(decoding: name, as: UTF8.self)) == nil else { return nil }
        }
        return out
    }

    var rowChecksum: String {
        Self.rowChecksum(number: number, architecture: architecture, fidelity: fidelity, role: role.rawValue,
                         status: status.rawValue, objective: objective, cost: cost, metrics: metricsJSON)
    }
}
