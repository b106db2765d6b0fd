import Foundation
import NASBench
import NASEstimators
import NASSpaces
import NASStrategies

/// Assembles a search without training: NB201 space × `TrainingFreeSearch` × a zero-cost
/// estimator. The objective is the proxy's score; with a table the chosen cell is reported by
/// `request.report`, otherwise by its trained test accuracy (when trained) or the score itself.
public enum TrainingFreeSearchSetup {
    public static func runner(_ request: SearchRequest, samples: Int, trainEpochs: Int,
                              estimator: TrainingFreeEstimator, dataDescription: String, training: String?,
                              store: any TrialStore) throws
        -> ExperimentRunner<NB201SearchSpace> {
        guard request.space == "nb201" else { throw SearchRequestError.unknownSpace(request.space) }
        var h = TrainingFreeSearch<NB201SearchSpace>.Hyperparameters()
        h.samples = samples
        h.trainEpochs = trainEpochs
        let strategy = try TrainingFreeSearch(space: NB201SearchSpace(), hyperparameters: h, seed: request.seed)
        let report = estimator.table != nil ? request.report : (trainEpochs > 0 ? "test_accuracy" : estimator.proxy.rawValue)
        let c = estimator.scorer.config
        let configuration = ExperimentConfiguration(
            space: request.space, strategy: TrainingFreeSearch<NB201SearchSpace>.name,
            hyperparameters: ["samples": String(samples), "train_epochs": String(trainEpochs), "proxy": estimator.proxy.rawValue],
            seed: request.seed, objective: estimator.proxy.rawValue, report: report,
            estimator: "\(estimator.name) on \(dataDescription) (scored at C=\(c.channels), N=\(c.cellsPerStage), batch \(estimator.scorer.batch.shape[0]))"
                + (training.map { "; chosen cell \($0)" } ?? ""),
            budget: Budget(queries: strategy.totalQueries))
        return ExperimentRunner(space: NB201SearchSpace(), estimator: estimator, strategy: strategy,
                                configuration: configuration, store: store)
    }
}
