import Foundation
import NASSpaces
import NASStrategies

/// Assembles a search over a categorical space whose estimator trains networks (the dense-seg
/// segmentation space, the audio-visual fusion space): the space × a strategy × the estimator,
/// run by `ExperimentRunner` against a trial store like every other search, so it resumes the
/// same way.
public enum CategoricalSearchSetup {
    /// Strategies that run on such spaces: the categorical ones that need no cell graph and no
    /// fidelities (Hyperband/BOHB would need an estimator with several training lengths).
    public static let strategies = ["reinforce-lstm", "reinforce", "random", "rea", "ls", "bananas", "nao"]

    /// - Parameters:
    ///   - objective: the metric the strategy maximises; `report` the one printed beside it.
    ///   - estimatorDescription: what the estimator trains on and with what recipe; stored, so
    ///     resuming with other data or settings is refused.
    ///   - checklist: the run's human-intervention checklist, stored with the experiment.
    public static func runner<Space: CategoricalSearchSpace & Codable>(
        strategy name: String, overrides: [String: String] = [:], seed: UInt64, budget: Budget, space: Space,
        estimator: any Estimator<Space>, objective: String, report: String, estimatorDescription: String,
        checklist: HumanInterventionChecklist? = nil, store: any TrialStore
    ) throws -> ExperimentRunner<Space> {
        guard strategies.contains(name) else {
            throw StrategyError.invalidHyperparameter(
                "strategy '\(name)' does not run on the \(space.name) space; available: \(strategies.joined(separator: ", "))")
        }
        let (strategy, hyperparameters) = try StrategyCatalog.make(name, overrides: overrides, space: space, seed: seed)
        let configuration = ExperimentConfiguration(
            space: space.name, strategy: name, hyperparameters: hyperparameters, seed: seed,
            objective: objective, report: report, estimator: estimatorDescription, budget: budget, checklist: checklist)
        return ExperimentRunner(space: space, estimator: estimator, strategy: strategy, configuration: configuration, store: store)
    }
}
