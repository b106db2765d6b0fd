import Foundation
import NASSpaces
import NASStrategies

/// Assembles a NAGO search: `NAGOSpace` × a strategy × an estimator (normally
/// `NAGOTrainingEstimator`), run by `ExperimentRunner` against a trial store like every other
/// search, so it resumes the same way. The objective is `valid_accuracy`; the estimator's
/// `params` metric is the second objective the Pareto front reads.
public enum NAGOSearchSetup {
    /// Strategies that run on NAGO's space: its BO, and the black-box baselines that need only
    /// sampling and mutation.
    public static let strategies = ["nago", "random", "rea"]
    public static let objective = "valid_accuracy"

    /// A fresh strategy `name` with `overrides`, and its resolved hyper-parameters (as stored).
    public static func strategy(_ name: String, overrides: [String: String], space: NAGOSpace, seed: UInt64) throws
        -> (strategy: any Strategy<NAGOSpace>, hyperparameters: [String: String]) {
        switch name {
        case "nago":
            let (h, r) = try StrategyCatalog.resolve(NAGOBayesianOptimisation.Hyperparameters(), overrides, name)
            return (try NAGOBayesianOptimisation(space: space, hyperparameters: h, seed: seed), r)
        case "random":
            let (h, r) = try StrategyCatalog.resolve(RandomSearch<NAGOSpace>.Hyperparameters(), overrides, name)
            return (try RandomSearch(space: space, hyperparameters: h, seed: seed), r)
        case "rea":
            let (h, r) = try StrategyCatalog.resolve(RegularizedEvolution<NAGOSpace>.Hyperparameters(), overrides, name)
            return (try RegularizedEvolution(space: space, hyperparameters: h, seed: seed), r)
        default:
            throw StrategyError.invalidHyperparameter(
                "strategy '\(name)' does not run on NAGO's space; available: \(strategies.joined(separator: ", "))")
        }
    }

    /// - Parameter estimatorDescription: what the estimator is and what it trains on; stored, so
    ///   resuming with other data or another recipe is refused.
    public static func runner(strategy name: String, overrides: [String: String] = [:], seed: UInt64, budget: Budget,
                              space: NAGOSpace, estimator: any Estimator<NAGOSpace>, estimatorDescription: String,
                              store: any TrialStore) throws -> ExperimentRunner<NAGOSpace> {
        let (strategy, hyperparameters) = try strategy(name, overrides: overrides, space: space, seed: seed)
        let configuration = ExperimentConfiguration(
            space: space.name, strategy: name, hyperparameters: hyperparameters, seed: seed,
            objective: objective, report: objective, estimator: estimatorDescription, budget: budget)
        return ExperimentRunner(space: space, estimator: estimator, strategy: strategy,
                                configuration: configuration, store: store)
    }

    /// The completed search trials as the Pareto front reads them (objective and parameter
    /// count, recounted from the network rather than read from a stored number), in trial order.
    public static func frontTrials(_ records: [TrialRecord], space: NAGOSpace) throws -> [NAGOBayesianOptimisation.Trial] {
        try records.filter { $0.status == .complete }.compactMap { r in
            guard let objective = r.objective else { return nil }
            let a = try space.parse(r.architecture)
            return NAGOBayesianOptimisation.Trial(architecture: a, objective: objective, parameterCount: space.parameterCount(of: a))
        }
    }
}
