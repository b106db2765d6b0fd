import Foundation
import NASData
import NASEstimators
import NASNN
import NASSpaces
import NASTensor

/// How Auto-DeepLab's supernet is searched: first-order bilevel optimisation on two disjoint
/// halves of the training images — a weight step (Adam) on a batch of tiles of one half, then,
/// after `warmupEpochs`, an architecture step (Adam on α and β) on a batch of the other —
/// with the segmentation loss (BCE + soft Dice).
public struct AutoDeepLabSearchConfig: Codable, Equatable, Sendable {
    public var epochs = 6
    public var warmupEpochs = 2
    public var batchSize = 8
    public var weightLearningRate: Float = 2e-3
    public var architectureLearningRate: Float = 3e-3
    public var architectureWeightDecay: Float = 1e-3
    public var tile = 64
    public var seed: UInt64 = 0

    public init() {}

    public func validate() throws {
        guard (1...10_000).contains(epochs), (0..<epochs).contains(warmupEpochs), (1...4096).contains(batchSize) else {
            throw AutoDeepLabError("epochs ≥ 1, warm-up in 0..<epochs and batch 1…4096 (got \(epochs), \(warmupEpochs), \(batchSize))")
        }
        guard weightLearningRate.isFinite, weightLearningRate > 0, architectureLearningRate.isFinite, architectureLearningRate > 0,
              architectureWeightDecay.isFinite, architectureWeightDecay >= 0 else {
            throw AutoDeepLabError("learning rates must be positive and the weight decay ≥ 0")
        }
    }
}

/// Runs Auto-DeepLab's search and decodes its architecture; a checkpoint after every epoch
/// (weights, α, β, batch-norm statistics and both optimizers) lets a killed search resume to
/// the same result.
public final class AutoDeepLabSearch {
    public let space: AutoDeepLabConfig
    public let config: AutoDeepLabSearchConfig
    public let supernet: AutoDeepLabNetwork
    let weightTiles: TileSampler, architectureTiles: TileSampler
    let weightOptimizer: Adam, architectureOptimizer: Adam

    /// - Parameters: `weightImages` train the weights, `architectureImages` (disjoint) α and β.
    public init(space: AutoDeepLabConfig, config: AutoDeepLabSearchConfig, weightImages: SegmentationSet,
                architectureImages: SegmentationSet) throws {
        try space.validate()
        try config.validate()
        guard config.tile % (1 << space.levels) == 0 else {
            throw AutoDeepLabError("the tile (\(config.tile)) must be divisible by 2^levels = \(1 << space.levels)")
        }
        (self.space, self.config) = (space, config)
        weightTiles = try TileSampler(weightImages, tile: config.tile, overlap: 0, augment: true, seed: config.seed)
        architectureTiles = try TileSampler(architectureImages, tile: config.tile, overlap: 0, augment: true, seed: config.seed &+ 1)
        supernet = AutoDeepLabNetwork(config: space, seed: config.seed)
        weightOptimizer = Adam(supernet.weightParameters, lr: config.weightLearningRate)
        architectureOptimizer = Adam(supernet.architectureParameters, lr: config.architectureLearningRate,
                                     weightDecay: config.architectureWeightDecay)
    }

    /// Trains the supernet for the remaining epochs and returns the decoded architecture.
    public func run(checkpoint: URL? = nil, progress: ((Int, Int, Int, Float) throws -> Void)? = nil) throws -> AutoDeepLabArchitecture {
        var start = 0
        if let checkpoint, FileManager.default.fileExists(atPath: checkpoint.path) { start = try restore(checkpoint) }
        let steps = weightTiles.batchCount(config.batchSize), archSteps = architectureTiles.batchCount(config.batchSize)
        supernet.train()
        for epoch in start..<config.epochs {
            let plan = weightTiles.epochPlan(epoch), archPlan = architectureTiles.epochPlan(epoch)
            for b in 0..<steps {
                try StopRequest.check()
                let loss = try step(weightTiles.batch(plan, b, size: config.batchSize), weightOptimizer, "weight", epoch)
                if epoch >= config.warmupEpochs {
                    _ = try step(architectureTiles.batch(archPlan, b % archSteps, size: config.batchSize), architectureOptimizer,
                                 "architecture", epoch)
                }
                try progress?(epoch, b, steps, loss)
            }
            if let checkpoint { try save(checkpoint, epochsDone: epoch + 1) }
        }
        guard let architecture = supernet.decode() else { throw AutoDeepLabError("the supernet has no architecture parameters") }
        return architecture
    }

    /// One step of `optimizer` on a batch of tiles. Both optimizers' gradients are cleared first:
    /// the loss reaches weights and α/β alike, and only `optimizer`'s parameters may move.
    private func step(_ batch: (Tensor, Tensor), _ optimizer: Adam, _ what: String, _ epoch: Int) throws -> Float {
        let loss = segmentationLoss(supernet(batch.0), batch.1, diceWeight: 1)
        guard loss.item.isFinite else { throw AutoDeepLabError("the \(what) loss became \(loss.item) at epoch \(epoch + 1)") }
        weightOptimizer.zeroGrad()
        architectureOptimizer.zeroGrad()
        loss.backward()
        optimizer.step()
        return loss.item
    }

    private func metadata(_ epochs: Int) throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return ["format": "swiftnas-autodeeplab-1", "epochs_done": String(epochs),
                "space": String(decoding: try encoder.encode(space), as: UTF8.self),
                "search": String(decoding: try encoder.encode(config), as: UTF8.self)]
    }

    private func save(_ url: URL, epochsDone: Int) throws {
        var c = Checkpoint(model: supernet, optimizer: nil, metadata: try metadata(epochsDone))
        for (k, v) in weightOptimizer.stateTensors() { c.optimizer["weights.\(k)"] = v }
        for (k, v) in architectureOptimizer.stateTensors() { c.optimizer["architecture.\(k)"] = v }
        try c.write(to: url)
    }

    private func restore(_ url: URL) throws -> Int {
        let c = try Checkpoint.read(url)
        let expected = try metadata(0)
        guard c.metadata["format"] == expected["format"], c.metadata["space"] == expected["space"], c.metadata["search"] == expected["search"],
              let done = c.metadata["epochs_done"].flatMap(Int.init), (0...config.epochs).contains(done) else {
            throw AutoDeepLabError("\(url.path) is not a checkpoint of this search (other settings or format)")
        }
        func part(_ prefix: String) -> [String: Tensor] {
            Dictionary(uniqueKeysWithValues: c.optimizer.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
        }
        do {
            try supernet.load(stateDict: c.model)
            try weightOptimizer.loadState(part("weights."))
            try architectureOptimizer.loadState(part("architecture."))
        } catch { throw AutoDeepLabError("\(url.path) does not fit this supernet: \(error)") }
        return done
    }
}
