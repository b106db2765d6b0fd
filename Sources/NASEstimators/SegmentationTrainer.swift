import Foundation
import NASData
import NASNN
import NASTensor

/// How to train a binary segmentation network on tiles: Adam with a cosine schedule, loss
/// = binary cross-entropy + `diceWeight` · soft Dice, every overlapping tile of every training
/// image once per epoch in a seeded order, each turned by a random one of the square's eight
/// symmetries when `augment` is set. Serialised into checkpoints so a resumed run matches.
public struct SegmentationRecipe: Codable, Equatable, Sendable {
    public var epochs = 8
    public var batchSize = 16
    public var learningRate: Float = 2e-3
    public var weightDecay: Float = 0
    public var tile = 64
    public var overlap = 16
    public var augment = true
    public var diceWeight: Float = 1
    public var seed: UInt64 = 0

    public init() {}

    /// Checks every setting; messages name the setting as the CLI spells it.
    public func validate() throws {
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw TrainingError.badConfig(what) } }
        try check(epochs >= 1 && epochs <= 100_000, "--epochs must be in 1…100000 (got \(epochs))")
        try check(batchSize >= 1 && batchSize <= 4096, "--batch-size must be in 1…4096 (got \(batchSize))")
        try check(learningRate.isFinite && learningRate > 0, "--lr must be a positive number (got \(learningRate))")
        try check(weightDecay.isFinite && weightDecay >= 0, "--weight-decay must be ≥ 0 (got \(weightDecay))")
        try check(tile >= 4 && tile <= 4096, "--tile must be in 4…4096 (got \(tile))")
        try check(overlap >= 0 && overlap < tile, "--overlap must be in 0..<tile (got \(overlap))")
        try check(diceWeight.isFinite && diceWeight >= 0, "--dice-weight must be ≥ 0 (got \(diceWeight))")
    }
}

/// Dice and IoU of a model's thresholded predictions, averaged over images.
public struct SegmentationScore: Codable, Equatable, Sendable {
    public var dice: Double
    public var iou: Double
}

/// One line of a segmentation training log.
public struct SegmentationEpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var validationDice: Double?
    public var validationIoU: Double?
    public var learningRate: Double
    public var seconds: Double
    public var tilesPerSecond: Double
}

/// Trains a network `[N, T, T, 1] → [N, T, T, 1]` (one logit per pixel) on the tiles of a
/// `SegmentationSet`, and scores it on whole images by tiling, predicting and stitching.
/// Inputs are standardised with the training images' mean and standard deviation. Batches of
/// epoch e depend only on (seed, e), and a checkpoint after every epoch holds weights, batch-norm
/// statistics and Adam's state, so a resumed run equals an uninterrupted one.
public final class SegmentationTrainer {
    public let model: any Layer
    public let recipe: SegmentationRecipe
    public let train: SegmentationSet
    public let validation: SegmentationSet?
    public let optimizer: any Optimizer
    public private(set) var history: [SegmentationEpochRecord] = []
    let sampler: TileSampler
    private let dataFingerprint: String

    public init(model: any Layer, recipe: SegmentationRecipe, train: SegmentationSet, validation: SegmentationSet? = nil) throws {
        try recipe.validate()
        guard train.count > 0 else { throw DataError(file: "training images", "none") }
        if let v = validation, v.height != train.height || v.width != train.width {
            throw DataError(file: "validation images", "\(v.width)×\(v.height), the training images are \(train.width)×\(train.height)")
        }
        sampler = try TileSampler(train, tile: recipe.tile, overlap: recipe.overlap, augment: recipe.augment, seed: recipe.seed)
        self.model = model
        self.recipe = recipe
        self.train = train
        self.validation = validation
        var c = Checksum()
        for v in train.images { c.mix(UInt64(v.bitPattern)) }
        for v in train.masks { c.mix(UInt64(v.bitPattern)) }
        dataFingerprint = "\(train.count)×\(train.height)×\(train.width) #\(c.hex)"
        optimizer = Adam(model.parameters(), lr: recipe.learningRate, weightDecay: recipe.weightDecay)
    }

    /// Runs the remaining epochs; with `checkpoint`, state is saved after each (and read first
    /// when `resume` is set). An error thrown by `progress` (or a stop request) ends the run at a
    /// point where the last checkpoint is intact.
    @discardableResult
    public func run(checkpoint: URL? = nil, resume: Bool = false,
                    progress: ((BatchProgress) throws -> Void)? = nil) throws -> [SegmentationEpochRecord] {
        let steps = sampler.batchCount(recipe.batchSize)
        let schedule = CosineAnnealing(base: recipe.learningRate, total: recipe.epochs * steps)
        var startEpoch = 0
        if resume, let checkpoint, FileManager.default.fileExists(atPath: checkpoint.path) {
            startEpoch = try restore(from: checkpoint)
        }
        for epoch in startEpoch..<recipe.epochs {
            model.train()
            let start = Date()
            let plan = sampler.epochPlan(epoch)
            var lossSum = 0.0, seen = 0
            for b in 0..<steps {
                try StopRequest.check()
                let (images, targets) = sampler.batch(plan, b, size: recipe.batchSize)
                let count = images.shape[0]
                let lr = schedule.learningRate(at: epoch * steps + b)
                optimizer.learningRate = lr
                let loss = segmentationLoss(model(images), targets, diceWeight: recipe.diceWeight)
                guard loss.item.isFinite else {
                    throw TrainingError.nonFiniteLoss(epoch: epoch, batch: b, value: loss.item, learningRate: lr)
                }
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
                lossSum += Double(loss.item) * Double(count)
                seen += count
                try progress?(BatchProgress(epoch: epoch, epochs: recipe.epochs, batch: b, batches: steps,
                                            loss: lossSum / Double(seen), accuracy: 0,
                                            imagesPerSecond: Double(seen) / max(Date().timeIntervalSince(start), 1e-9)))
            }
            let seconds = Date().timeIntervalSince(start)
            let score = try validation.map { try evaluate($0) }
            history.append(SegmentationEpochRecord(epoch: epoch + 1, trainLoss: lossSum / Double(max(seen, 1)),
                                                   validationDice: score?.dice, validationIoU: score?.iou,
                                                   learningRate: Double(schedule.learningRate(at: (epoch + 1) * steps - 1)),
                                                   seconds: seconds, tilesPerSecond: Double(seen) / max(seconds, 1e-9)))
            if let checkpoint { try save(to: checkpoint, epochsDone: epoch + 1) }
        }
        return history
    }

    /// The model's foreground probabilities for every pixel of image `i` of `set` (tiled with the
    /// recipe's tile and overlap, stitched by averaging), in evaluation mode.
    public func predict(_ set: SegmentationSet, image i: Int) throws -> [Float] {
        let t = try Tiling(height: set.height, width: set.width, tile: recipe.tile, overlap: recipe.overlap)
        let n = set.pixelsPerImage, side = recipe.tile
        let plane = set.images[(i * n)..<((i + 1) * n)]
        let x = t.tiles(of: plane).map { ($0 - sampler.mean) / sampler.std }
        model.eval()
        defer { model.train() }
        let probabilities = withoutGrad { sigmoid(model(Tensor(shape: [t.origins.count, side, side, 1], data: x))).array }
        return t.stitch(probabilities)
    }

    /// Mean Dice and IoU over the images of `set` (foreground where the probability > 0.5).
    public func evaluate(_ set: SegmentationSet) throws -> SegmentationScore {
        guard set.count > 0 else { throw DataError(file: "evaluation images", "none") }
        var dice = 0.0, iou = 0.0
        let n = set.pixelsPerImage
        for i in 0..<set.count {
            let p = try predict(set, image: i)
            let target = Array(set.masks[(i * n)..<((i + 1) * n)])
            dice += SegmentationMetrics.dice(p, target)
            iou += SegmentationMetrics.iou(p, target)
        }
        return SegmentationScore(dice: dice / Double(set.count), iou: iou / Double(set.count))
    }

    private func save(to url: URL, epochsDone: Int) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let metadata: [String: String] = [
            "format": "swiftnas-segmentation-checkpoint-1",
            "epochs_done": String(epochsDone),
            "recipe": String(decoding: try encoder.encode(recipe), as: UTF8.self),
            "history": String(decoding: try encoder.encode(history), as: UTF8.self),
            "data": dataFingerprint,
        ]
        try Checkpoint(model: model, optimizer: optimizer, metadata: metadata).write(to: url)
    }

    /// Loads a checkpoint of this run (same recipe, data and model) and returns its epochs done.
    private func restore(from url: URL) throws -> Int {
        let c = try Checkpoint.read(url)
        guard c.metadata["format"] == "swiftnas-segmentation-checkpoint-1", let text = c.metadata["recipe"],
              let done = c.metadata["epochs_done"].flatMap(Int.init),
              let saved = try? JSONDecoder().decode(SegmentationRecipe.self, from: Data(text.utf8)) else {
            throw TrainingError.checkpointMismatch("\(url.path) is not a SwiftNAS segmentation checkpoint")
        }
        guard saved == recipe else { throw TrainingError.checkpointMismatch("\(url.path) was written with other settings: \(text)") }
        guard (0...recipe.epochs).contains(done) else {
            throw TrainingError.checkpointMismatch("\(url.path): epochs_done is \(done), not in 0...\(recipe.epochs)")
        }
        guard c.metadata["data"] == dataFingerprint else {
            throw TrainingError.checkpointMismatch("\(url.path) was trained on other images (\(c.metadata["data"] ?? "none")); these are \(dataFingerprint)")
        }
        do { try c.restore(into: model, optimizer: optimizer) } catch {
            throw TrainingError.checkpointMismatch("\(url.path) does not fit this model: \(error)")
        }
        guard let h = c.metadata["history"], let records = try? JSONDecoder().decode([SegmentationEpochRecord].self, from: Data(h.utf8)),
              records.count == done else {
            throw TrainingError.checkpointMismatch("\(url.path): its history does not list the \(done) epochs it claims")
        }
        history = records
        return done
    }
}

/// Binary cross-entropy + `diceWeight` · soft Dice, the segmentation training loss.
public func segmentationLoss(_ logits: Tensor, _ targets: Tensor, diceWeight: Float) -> Tensor {
    let bce = binaryCrossEntropyWithLogits(logits, targets)
    return diceWeight > 0 ? bce + softDiceLoss(logits, targets) * diceWeight : bce
}

/// The training tiles of a segmentation set: every overlapping tile of every image once per
/// epoch, in an order and with symmetries drawn from (seed, epoch) only, standardised with the
/// set's mean and standard deviation.
public struct TileSampler {
    public let source: SegmentationSet
    public let tiling: Tiling
    public let augment: Bool
    public let seed: UInt64
    public let mean: Float, std: Float

    public init(_ set: SegmentationSet, tile: Int, overlap: Int, augment: Bool, seed: UInt64) throws {
        guard set.count > 0 else { throw DataError(file: "training images", "none") }
        tiling = try Tiling(height: set.height, width: set.width, tile: tile, overlap: overlap)
        (self.source, self.augment, self.seed) = (set, augment, seed)
        var sum = 0.0, squares = 0.0
        for v in set.images { sum += Double(v); squares += Double(v) * Double(v) }
        let m = sum / Double(set.images.count)
        mean = Float(m)
        std = Float(max((squares / Double(set.images.count) - m * m).squareRoot(), 1e-6))
    }

    public var tilesPerEpoch: Int { source.count * tiling.origins.count }
    public func batchCount(_ batchSize: Int) -> Int { (tilesPerEpoch + batchSize - 1) / batchSize }

    /// (image, tile origin, symmetry) of every tile of epoch `epoch`, in batch order.
    public func epochPlan(_ epoch: Int) -> [(image: Int, tile: Int, symmetry: Dihedral)] {
        var rng = SeededGenerator(seed: seed &+ 0x5e9 &* UInt64(epoch + 1))
        var plan: [(image: Int, tile: Int, symmetry: Dihedral)] = []
        for i in 0..<source.count {
            for t in tiling.origins.indices {
                let s = augment ? Dihedral(rawValue: Int(rng.next() % 8)) ?? .identity : .identity
                plan.append((i, t, s))
            }
        }
        plan.seededShuffle(using: &rng)
        return plan
    }

    /// Batch `b` of a plan: standardised tiles `[B, T, T, 1]` and their masks.
    public func batch(_ plan: [(image: Int, tile: Int, symmetry: Dihedral)], _ b: Int, size: Int) -> (Tensor, Tensor) {
        let side = tiling.tile
        let part = plan[(b * size)..<min((b + 1) * size, plan.count)]
        var x: [Float] = [], y: [Float] = []
        x.reserveCapacity(part.count * side * side)
        y.reserveCapacity(part.count * side * side)
        for p in part {
            x += p.symmetry.apply(tileValues(source.images, image: p.image, tile: p.tile), side: side).map { ($0 - mean) / std }
            y += p.symmetry.apply(tileValues(source.masks, image: p.image, tile: p.tile), side: side)
        }
        return (Tensor(shape: [part.count, side, side, 1], data: x), Tensor(shape: [part.count, side, side, 1], data: y))
    }

    /// One tile of plane `image` of `values` (images or masks), as `tile × tile` values.
    private func tileValues(_ values: [Float], image: Int, tile t: Int) -> ArraySlice<Float> {
        let n = source.pixelsPerImage, side = tiling.tile
        let (r, c) = tiling.origins[t]
        var out: [Float] = []
        out.reserveCapacity(side * side)
        for y in 0..<side {
            let start = image * n + (r + y) * source.width + c
            out += values[start..<(start + side)]
        }
        return out[...]
    }
}
