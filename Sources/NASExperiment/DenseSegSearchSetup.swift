import Foundation
import NASSpaces
import NASStrategies

/// Assembles a segmentation search: `DenseSegSearchSpace` × a strategy × an estimator (normally
/// `DenseSegTrainingEstimator`: children trained briefly, rewarded by validation Dice), run by
/// `ExperimentRunner` against a trial store like every other search, so it resumes the same way.
public enum DenseSegSearchSetup {
    /// Strategies that run on the space: the categorical ones that need no cell graph and no
    /// fidelities (Hyperband/BOHB would need an estimator with several training lengths).
    public static let strategies = ["reinforce-lstm", "reinforce", "random", "rea", "ls", "bananas", "nao"]
    public static let objective = "valid_dice"

    /// - Parameter estimatorDescription: what the estimator trains on and with what recipe; stored,
    ///   so resuming with other data or settings is refused.
    public static func runner(strategy name: String, overrides: [String: String] = [:], seed: UInt64, budget: Budget,
                              space: DenseSegSearchSpace, estimator: any Estimator<DenseSegSearchSpace>,
                              estimatorDescription: String, store: any TrialStore) throws -> ExperimentRunner<DenseSegSearchSpace> {
        guard strategies.contains(name) else {
            throw StrategyError.invalidHyperparameter(
                "strategy '\(name)' does not run on the dense-seg space; available: \(strategies.joined(separator: ", "))")
        }
        let (strategy, hyperparameters) = try StrategyCatalog.make(name, overrides: overrides, space: space, seed: seed)
        let configuration = ExperimentConfiguration(
            space: space.name, strategy: name, hyperparameters: hyperparameters, seed: seed,
            objective: objective, report: objective, estimator: estimatorDescription, budget: budget)
        return ExperimentRunner(space: space, estimator: estimator, strategy: strategy, configuration: configuration, store: store)
    }
}
