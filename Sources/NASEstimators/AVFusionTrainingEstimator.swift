import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// Trains the network of a multimodal architecture from scratch on (image, spectrogram) pairs
/// and reports validation accuracy (the search's objective), test accuracy (for the report only;
/// no choice reads it), and the parameter count. Recipe: Adam at `learningRate` with a cosine
/// schedule, batches of `batchSize` pairs in a seeded order per epoch, cross-entropy; every
/// network starts from the recipe's seed, so two architectures differ only in what they are.
public struct AVFusionTrainingEstimator: Estimator {
    public typealias Space = AVFusionSearchSpace

    public let space: AVFusionSearchSpace
    public let splits: AudioVisualSplits
    public let epochs: Int
    public let batchSize: Int
    public let learningRate: Float
    public let seed: UInt64

    public init(space: AVFusionSearchSpace, splits: AudioVisualSplits, epochs: Int, batchSize: Int = 64,
                learningRate: Float = 2e-3, seed: UInt64) throws {
        try space.validate()
        guard (1...10_000).contains(epochs) else { throw TrainingError.badConfig("epochs must be in 1…10000 (got \(epochs))") }
        guard (1...4096).contains(batchSize) else { throw TrainingError.badConfig("batch size must be in 1…4096 (got \(batchSize))") }
        guard learningRate.isFinite, learningRate > 0 else { throw TrainingError.badConfig("learning rate must be positive (got \(learningRate))") }
        for set in [splits.train, splits.validation, splits.test] where set.count == 0 {
            throw DataError(file: "audio-visual pairs", "a split is empty (train \(splits.train.count), validation \(splits.validation.count), test \(splits.test.count))")
        }
        (self.space, self.splits, self.epochs, self.batchSize, self.learningRate, self.seed) =
            (space, splits, epochs, batchSize, learningRate, seed)
    }

    public var name: String { "avmnist-train" }
    public var fidelities: [Fidelity] { [] }
    public var costUnit: String { "epochs" }

    /// The network of `a` trained with the recipe.
    public func trained(_ a: AVFusionArchitecture) throws -> AVFusionNetwork {
        let train = splits.train
        let net = AVFusionNetwork(a, imageSize: (train.image.height, train.image.width), seed: seed)
        let optimizer = Adam(net.parameters(), lr: learningRate)
        let steps = (train.count + batchSize - 1) / batchSize
        let schedule = CosineAnnealing(base: learningRate, total: epochs * steps)
        for epoch in 0..<epochs {
            var rng = SeededGenerator(seed: seed &+ 0xa7 &* UInt64(epoch + 1))
            var order = Array(0..<train.count)
            order.seededShuffle(using: &rng)
            for b in 0..<steps {
                try StopRequest.check()
                let idx = Array(order[(b * batchSize)..<min((b + 1) * batchSize, order.count)])
                optimizer.learningRate = schedule.learningRate(at: epoch * steps + b)
                let (image, audio, labels) = Self.batch(train, idx)
                let loss = crossEntropy(net(image: image, audio: audio), targets: labels)
                guard loss.item.isFinite else {
                    throw TrainingError.nonFiniteLoss(epoch: epoch, batch: b, value: loss.item, learningRate: optimizer.learningRate)
                }
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
            }
        }
        return net
    }

    static func batch(_ set: AudioVisualSet, _ idx: [Int]) -> (Tensor, Tensor, [Int]) {
        let si = set.image.imageSize, sa = set.audio.imageSize
        var image: [Float] = [], audio: [Float] = []
        image.reserveCapacity(idx.count * si)
        audio.reserveCapacity(idx.count * sa)
        for i in idx {
            image += set.image.images[(i * si)..<((i + 1) * si)]
            audio += set.audio.images[(i * sa)..<((i + 1) * sa)]
        }
        return (Tensor(shape: [idx.count] + set.image.imageShape, data: image),
                Tensor(shape: [idx.count] + set.audio.imageShape, data: audio), idx.map { set.labels[$0] })
    }

    /// Accuracy (%) of a network on a set, in evaluation mode.
    public static func accuracy(_ net: AVFusionNetwork, on set: AudioVisualSet) -> Double {
        net.eval()
        defer { net.train() }
        return withoutGrad {
            var correct = 0
            for start in stride(from: 0, to: set.count, by: 500) {
                let (image, audio, labels) = batch(set, Array(start..<min(start + 500, set.count)))
                correct += zip(net(image: image, audio: audio).argmaxLastAxis(), labels).filter { $0 == $1 }.count
            }
            return 100 * Double(correct) / Double(max(set.count, 1))
        }
    }

    public func evaluate(_ a: AVFusionArchitecture, fidelity: Fidelity?) throws -> Evaluation {
        let start = Date()
        let net = try trained(a)
        return Evaluation(metrics: ["valid_accuracy": Self.accuracy(net, on: splits.validation),
                                    "test_accuracy": Self.accuracy(net, on: splits.test),
                                    "params": Double(net.parameterCount), "fused": a.isFused ? 1 : 0,
                                    "train_seconds": Date().timeIntervalSince(start)],
                          cost: Double(epochs))
    }
}
