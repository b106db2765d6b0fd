import Foundation

/// A store that keeps trials in memory: for benchmarks that run thousands of searches and for
/// tests. It keeps no strategy state unless asked to, so benchmark timings are the strategy's.
public final class InMemoryTrialStore: TrialStore {
    public let keepsStrategyState: Bool
    private var stored: ExperimentConfiguration?
    private var records: [TrialRecord] = []
    private var state: Data?

    public init(keepsStrategyState: Bool = false) { self.keepsStrategyState = keepsStrategyState }

    public var location: String { "memory" }

    public func open(_ configuration: ExperimentConfiguration) throws -> StoredExperiment {
        if let s = stored, s != configuration {
            throw TrialStoreError.configurationMismatch(store: location, differences: s.differences(from: configuration))
        }
        stored = configuration
        return StoredExperiment(trials: records, strategyState: state)
    }

    public func recordAsk(_ trial: TrialRecord, strategyState: Data?) throws {
        records.append(trial)
        if let s = strategyState { state = s }
    }

    public func recordTell(_ trial: TrialRecord, strategyState: Data?) throws {
        guard let i = records.lastIndex(where: { $0.number == trial.number }) else {
            throw TrialStoreError.corrupt(store: location, reason: "tell for unknown trial \(trial.number)")
        }
        records[i] = trial
        if let s = strategyState { state = s }
    }

    public func configuration() throws -> ExperimentConfiguration? { stored }
    public func trials() throws -> [TrialRecord] { records }
}
