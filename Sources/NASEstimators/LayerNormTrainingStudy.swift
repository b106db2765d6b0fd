import Foundation
import NASData
import NASNN
import NASTensor

/// Xiong et al. (ICML 2020), the training claim: with Adam and no learning-rate warm-up,
/// Post-LN transformers train worse (or diverge) at learning rates where Pre-LN without warm-up
/// does as well as Post-LN with warm-up. One run trains a ViT with one (learning rate, block
/// order, warm-up, seed) and records its loss after every batch and its test accuracy.
public enum LayerNormTrainingStudy {
    public struct Setting: Codable, Hashable, Sendable {
        public var learningRate: Float
        public var normFirst: Bool
        public var warmupEpochs: Int
        public var seed: UInt64

        public init(learningRate: Float, normFirst: Bool, warmupEpochs: Int, seed: UInt64) {
            self.learningRate = learningRate
            self.normFirst = normFirst
            self.warmupEpochs = warmupEpochs
            self.seed = seed
        }

        public var label: String { "\(normFirst ? "Pre" : "Post")-LN, \(warmupEpochs > 0 ? "warm-up" : "no warm-up")" }
    }

    public struct Run: Codable, Sendable {
        public var setting: Setting
        /// Training loss of every batch, in order (NaN once the loss stopped being finite).
        public var batchLosses: [Double]
        /// Mean training loss of the last epoch and test accuracy (%) after it; nil when
        /// training diverged.
        public var finalTrainLoss: Double?
        public var testAccuracy: Double?
    }

    /// Adam at a constant learning rate after `warmupEpochs` of linear warm-up (per step).
    public static func recipe(_ s: Setting, epochs: Int, batchSize: Int) -> TrainingConfig {
        var c = TrainingConfig()
        c.optimizer = "adam"
        c.schedule = "constant"
        c.learningRate = s.learningRate
        c.warmupEpochs = s.warmupEpochs
        c.epochs = epochs
        c.batchSize = batchSize
        c.seed = s.seed
        return c
    }

    public static func train(_ s: Setting, model config: ViTConfig, epochs: Int, batchSize: Int,
                             train: Dataset, test: Dataset) throws -> Run {
        var c = config
        c.normFirst = s.normFirst
        var rng = SeededGenerator(seed: s.seed)
        let model = VisionTransformer(c, using: &rng)
        let trainer = try Trainer(model: model, config: recipe(s, epochs: epochs, batchSize: batchSize), train: train, test: test)
        var losses: [Double] = []
        var previousSum = 0.0, previousSeen = 0
        do {
            try trainer.run { p in
                // The callback gives the epoch's running mean; recover each batch's own loss.
                if p.batch == 0 { previousSum = 0; previousSeen = 0 }
                let seen = Swift.min((p.batch + 1) * batchSize, train.count)
                let sum = p.loss * Double(seen)
                losses.append((sum - previousSum) / Double(Swift.max(seen - previousSeen, 1)))
                (previousSum, previousSeen) = (sum, seen)
            }
        } catch TrainingError.nonFiniteLoss {
            // A non-finite loss: the run diverged, which is a result of the sweep, not an error.
            losses.append(.nan)
            return Run(setting: s, batchLosses: losses, finalTrainLoss: nil, testAccuracy: nil)
        }
        return Run(setting: s, batchLosses: losses, finalTrainLoss: trainer.history.last?.trainLoss,
                   testAccuracy: trainer.history.last.map { 100 * $0.testAccuracy })
    }
}
