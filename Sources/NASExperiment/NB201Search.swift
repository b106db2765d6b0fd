import Foundation
import NASBench
import NASSpaces
import NASStrategies

/// What a user asks for when searching NAS-Bench-201: the pieces of an experiment by name.
public struct SearchRequest: Equatable, Sendable {
    public var space = "nb201"
    public var strategy = "rea"
    public var hyperparameters: [String: String] = [:]
    public var seed: UInt64 = 0
    /// Default: the NAS-Bench-201 paper's search signal, 12-epoch CIFAR-10 validation accuracy.
    public var objective = "nb201_c10valid_valid_12"
    /// Default: 200-epoch CIFAR-10 test accuracy, what NB201 papers report.
    public var report = "nats_c10_test_200"
    public var budget = Budget(queries: 100)

    public init() {}
}

/// Errors in a search request that are the user's to fix.
public enum SearchRequestError: Error, CustomStringConvertible, Equatable {
    case unknownSpace(String)
    case unknownMetric(String, known: [String])
    case badBudget(String)

    public var description: String {
        switch self {
        case let .unknownSpace(s): return "unknown search space '\(s)'; available: nb201"
        case let .unknownMetric(m, known): return "unknown metric '\(m)'; the NAS-Bench-201 table has " + known.joined(separator: ", ")
        case let .badBudget(problem): return problem
        }
    }
}

/// Assembles NAS-Bench-201 experiments: the space, the tabular estimator and a strategy.
public enum NB201Search {
    /// The request's objective and report must be columns of the table.
    public static func checkMetrics(_ request: SearchRequest) throws {
        let known = NB201Column.allCases.map(\.rawValue)
        for metric in [request.objective, request.report] where !known.contains(metric) {
            throw SearchRequestError.unknownMetric(metric, known: known)
        }
    }

    /// The configuration stored for `request`, and a fresh strategy to run it.
    public static func prepare(_ request: SearchRequest, estimator: NB201TabularEstimator) throws
        -> (configuration: ExperimentConfiguration, strategy: any Strategy<NB201SearchSpace>) {
        guard request.space == "nb201" else { throw SearchRequestError.unknownSpace(request.space) }
        let known = NB201Column.allCases.map(\.rawValue)
        let objective = Objective(metric: request.objective)
        // A multi-fidelity strategy reads the objective's family at every rung.
        for f in estimator.fidelities where StrategyCatalog.isMultiFidelity(request.strategy)
            && objective.fidelity != nil && !known.contains(objective.metric(at: f)) {
            throw SearchRequestError.unknownMetric(objective.metric(at: f), known: known)
        }
        try checkMetrics(request)
        let (strategy, resolved) = try StrategyCatalog.make(request.strategy, overrides: request.hyperparameters,
                                                            space: NB201SearchSpace(), seed: request.seed,
                                                            fidelities: estimator.fidelities)
        let configuration = ExperimentConfiguration(
            space: request.space, strategy: request.strategy, hyperparameters: resolved, seed: request.seed,
            objective: request.objective, report: request.report, estimator: estimator.name, budget: request.budget)
        return (configuration, strategy)
    }

    public static func runner(_ request: SearchRequest, estimator: NB201TabularEstimator, store: any TrialStore) throws
        -> ExperimentRunner<NB201SearchSpace> {
        let (configuration, strategy) = try prepare(request, estimator: estimator)
        return ExperimentRunner(space: NB201SearchSpace(), estimator: estimator, strategy: strategy,
                                configuration: configuration, store: store)
    }
}
