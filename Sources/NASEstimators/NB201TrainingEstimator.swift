import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// Trains an NB201 cell from scratch on a real data set and reports what the benchmark reports:
/// validation and test accuracy (%), parameters, multiply-accumulates and seconds. The schedule
/// defaults to NAS-Bench-201's own (SGD, Nesterov momentum 0.9, learning rate 0.1 with cosine
/// annealing, weight decay 5·10⁻⁴, batch 256); the number of epochs is the fidelity.
public struct NB201TrainingEstimator: Estimator {
    public typealias Space = NB201SearchSpace

    public let network: NB201NetworkConfig
    public var training: TrainingConfig
    public let train: Dataset
    public let validation: Dataset
    public let test: Dataset
    /// Called after every training batch (a progress bar).
    public var progress: (@Sendable (BatchProgress) -> Void)?

    /// - Parameters: data sets already normalised and sized for the network (e.g. padded to 32×32).
    public init(network: NB201NetworkConfig, training: TrainingConfig = NB201TrainingEstimator.benchmarkSchedule,
                train: Dataset, validation: Dataset, test: Dataset) {
        self.network = network
        self.training = training
        self.train = train
        self.validation = validation
        self.test = test
    }

    /// NAS-Bench-201's training hyper-parameters (its 200-epoch runs; epochs come from the fidelity).
    public static var benchmarkSchedule: TrainingConfig {
        var c = TrainingConfig()
        c.optimizer = "sgd"; c.learningRate = 0.1; c.momentum = 0.9; c.nesterov = true
        c.weightDecay = 5e-4; c.batchSize = 256; c.schedule = "cosine"
        return c
    }

    public var name: String { "nb201-train" }
    public var fidelities: [Fidelity] { [] }
    public var costUnit: String { "seconds" }

    public func evaluate(_ cell: NB201Cell, fidelity: Fidelity?) throws -> Evaluation {
        var config = training
        if let f = fidelity { config.epochs = f.epochs }
        let net = NB201Network(cell: cell, config: network, seed: config.seed)
        let start = Date()
        let trainer = try Trainer(model: net, config: config, train: train, test: test)
        let history = try trainer.run(progress: progress)
        let valid = trainer.evaluate(validation)
        let seconds = Date().timeIntervalSince(start)
        return Evaluation(metrics: [
            "valid_accuracy": 100 * valid.accuracy,
            "test_accuracy": 100 * (history.last?.testAccuracy ?? 0),
            "train_loss": history.last?.trainLoss ?? .nan,
            "params": Double(net.parameterCount),
            "flops": Double(net.multiplyAccumulates(height: train.height, width: train.width)),
            "seconds": seconds,
        ], cost: seconds)
    }
}
