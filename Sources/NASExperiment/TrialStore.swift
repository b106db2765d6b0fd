import Foundation

/// What a store holds for an experiment when it is (re)opened.
public struct StoredExperiment: Sendable {
    /// Trials in ask order; only the last may still be `asked`.
    public var trials: [TrialRecord]
    /// Strategy state saved with the most recent ask or tell, if the store keeps states.
    public var strategyState: Data?
}

/// Errors of trial stores.
public enum TrialStoreError: Error, CustomStringConvertible, Equatable {
    case configurationMismatch(store: String, differences: [String])
    case corrupt(store: String, reason: String)
    case inUse(store: String, holder: String)
    case notAStore(store: String, reason: String)
    /// A server store that cannot be reached or refuses the connection (address, password).
    case unreachable(store: String, reason: String)

    public var description: String {
        switch self {
        case let .configurationMismatch(store, differences):
            // One line, as every error of the CLI: the differences separated by semicolons.
            return "the store \(store) holds an experiment with other settings (" + differences.joined(separator: "; ")
                + "); resume with the stored settings, or use a new store"
        case let .corrupt(store, reason):
            return "the store \(store) cannot be used: \(reason)"
        case let .inUse(store, holder):
            return "the store \(store) is in use by another search (\(holder)); wait for it to finish or stop it first"
        case let .notAStore(store, reason):
            return "\(store) is not a SwiftNAS trial store (\(reason)); it was left untouched: choose another --store path"
        case let .unreachable(store, reason):
            return "cannot use the store \(store): \(reason)"
        }
    }
}

/// Persistence of an experiment's configuration, trials and strategy state.
///
/// The contract that makes resume exact: `recordAsk` and `recordTell` are each durable and
/// atomic (trial row and strategy state together) before they return, so a process killed at any
/// instant leaves either the state before or the state after a step, never half of one.
/// SQLite is the embedded default; a server database for many workers plugs in here.
public protocol TrialStore: AnyObject {
    /// Human-readable location, used in messages.
    var location: String { get }
    /// Whether the runner should hand over strategy state with every step.
    var keepsStrategyState: Bool { get }

    /// Creates the experiment, or reopens it if `configuration` equals the stored one; throws
    /// `configurationMismatch` naming each differing field otherwise.
    func open(_ configuration: ExperimentConfiguration) throws -> StoredExperiment
    func recordAsk(_ trial: TrialRecord, strategyState: Data?) throws
    func recordTell(_ trial: TrialRecord, strategyState: Data?) throws
    /// Stored configuration, or nil for an empty store.
    func configuration() throws -> ExperimentConfiguration?
    func trials() throws -> [TrialRecord]
}
