import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// Trains the network a NAGO architecture stands for from scratch and reports its validation
/// accuracy (%), parameter count and seconds. The recipe is NAGO's short-training proxy at CPU
/// scale: Adam at a constant learning rate (default 0.003), batch 64, a few epochs; the
/// network's weights and batch order come from the architecture's network seed, so the same
/// architecture always trains to the same network.
public struct NAGOTrainingEstimator: Estimator {
    public typealias Space = NAGOSpace

    public let space: NAGOSpace
    public let training: TrainingConfig
    public let train: Dataset
    public let validation: Dataset

    /// The default recipe with `epochs`, `batchSize` and `learningRate` set.
    public static func recipe(epochs: Int, batchSize: Int = 64, learningRate: Float = 0.003) -> TrainingConfig {
        var c = TrainingConfig()
        c.optimizer = "adam"
        c.schedule = "constant"
        c.learningRate = learningRate
        c.batchSize = batchSize
        c.epochs = epochs
        return c
    }

    /// - Parameters: data sets already normalised, with `space.inputChannels` channels and
    ///   `space.classes` classes; `training.seed` is replaced by each architecture's seed.
    public init(space: NAGOSpace, training: TrainingConfig, train: Dataset, validation: Dataset) throws {
        try training.validate()
        guard train.channels == space.inputChannels, train.classCount == space.classes else {
            throw DataError(file: "training data", "NAGO networks are built for \(space.inputChannels) channel(s) and \(space.classes) classes; "
                + "the training set has \(train.channels) and \(train.classCount)")
        }
        self.space = space
        self.training = training
        self.train = train
        self.validation = validation
    }

    public var name: String { "nago-train" }
    public var fidelities: [Fidelity] { [] }
    public var costUnit: String { "epochs" }

    /// The trained network's trainer (its model, history and `evaluate`), trained for `epochs`
    /// (default: the recipe's).
    public func trained(_ a: NAGOArchitecture, epochs: Int? = nil) throws -> Trainer {
        var config = training
        config.seed = a.networkSeed
        if let epochs { config.epochs = epochs }
        var rng = SeededGenerator(seed: a.networkSeed)
        let net = NAGONetwork(space.network(of: a), inputChannels: space.inputChannels, classes: space.classes, using: &rng)
        let trainer = try Trainer(model: net, config: config, train: train, test: validation)
        try trainer.run()
        return trainer
    }

    public func evaluate(_ a: NAGOArchitecture, fidelity: Fidelity?) throws -> Evaluation {
        let start = Date()
        let epochs = fidelity?.epochs ?? training.epochs
        let trainer = try trained(a, epochs: epochs)
        let accuracy = trainer.history.last?.testAccuracy ?? trainer.evaluate(validation).accuracy
        return Evaluation(metrics: [
            "valid_accuracy": 100 * accuracy,
            "params": Double(space.parameterCount(of: a)),
            "seconds": Date().timeIntervalSince(start),
        ], cost: Double(epochs))
    }
}
