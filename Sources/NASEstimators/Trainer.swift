import Foundation
import NASData
import NASNN
import NASTensor

/// How to train a network: optimiser, schedule, regularisation, seed. Serialised into every
/// checkpoint so a resumed run uses exactly the same settings.
public struct TrainingConfig: Codable, Equatable, Sendable {
    public var epochs = 10
    public var batchSize = 128
    public var optimizer = "adam"          // sgd | adam | adamw
    public var learningRate: Float = 1e-3
    public var momentum: Float = 0.9
    public var nesterov = false
    public var weightDecay: Float = 0
    public var schedule = "cosine"         // cosine | step | constant (per step, after warm-up)
    public var warmupEpochs = 0
    public var labelSmoothing: Float = 0
    public var gradientClip: Float = 0     // 0: off
    public var seed: UInt64 = 0
    public var cropPadding = 0
    public var horizontalFlip = false
    public var cutout = 0

    public init() {}

    /// Checks every setting's range; the message names the setting as `swiftnas train` spells it.
    public func validate() throws {
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw TrainingError.badConfig(what) } }
        try check(epochs >= 1, "--epochs must be at least 1 (got \(epochs))")
        try check(batchSize >= 1, "--batch-size must be at least 1 (got \(batchSize))")
        try check(learningRate.isFinite && learningRate > 0, "--lr must be a positive number (got \(learningRate))")
        try check(momentum.isFinite && momentum >= 0 && momentum < 1, "--momentum must be in [0, 1) (got \(momentum))")
        try check(weightDecay.isFinite && weightDecay >= 0, "--weight-decay must be ≥ 0 (got \(weightDecay))")
        try check(warmupEpochs >= 0 && warmupEpochs < epochs, "--warmup-epochs must be in [0, epochs) (got \(warmupEpochs))")
        try check(labelSmoothing.isFinite && labelSmoothing >= 0 && labelSmoothing < 1,
                  "--label-smoothing must be in [0, 1) (got \(labelSmoothing))")
        try check(gradientClip.isFinite && gradientClip >= 0, "--clip must be ≥ 0 (got \(gradientClip))")
        try check(cropPadding >= 0 && cropPadding <= 64, "--crop-padding must be in [0, 64] (got \(cropPadding))")
        try check(cutout >= 0 && cutout <= 1024, "--cutout must be in [0, 1024] (got \(cutout))")
        try check(!nesterov || momentum > 0, "Nesterov momentum needs --momentum > 0")
    }

    public func makeOptimizer(_ parameters: [Tensor]) throws -> any Optimizer {
        switch optimizer {
        case "sgd": return SGD(parameters, lr: learningRate, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
        case "adam": return Adam(parameters, lr: learningRate, weightDecay: weightDecay)
        case "adamw": return AdamW(parameters, lr: learningRate, weightDecay: weightDecay)
        default: throw TrainingError.badConfig("optimizer '\(optimizer)' is not one of sgd, adam, adamw")
        }
    }

    public func makeSchedule(stepsPerEpoch: Int) throws -> any LearningRateSchedule {
        let total = epochs * stepsPerEpoch, warm = warmupEpochs * stepsPerEpoch
        let main: any LearningRateSchedule
        switch schedule {
        case "cosine": main = CosineAnnealing(base: learningRate, total: total - warm)
        case "step": main = StepDecay(base: learningRate, stepSize: max(1, (total - warm) / 3))
        case "constant": main = ConstantLR(learningRate)
        default: throw TrainingError.badConfig("schedule '\(schedule)' is not one of cosine, step, constant")
        }
        return warm > 0 ? LinearWarmup(warmup: warm, then: AnyLR(main)) : main
    }
}

/// Type-erased schedule (so warm-up can wrap any of them).
struct AnyLR: LearningRateSchedule {
    let base: any LearningRateSchedule
    init(_ base: any LearningRateSchedule) { self.base = base }
    func learningRate(at step: Int) -> Float { base.learningRate(at: step) }
}

public enum TrainingError: Error, CustomStringConvertible {
    case nonFiniteLoss(epoch: Int, batch: Int, value: Float, learningRate: Float)
    case badConfig(String)
    case checkpointMismatch(String)

    public var description: String {
        switch self {
        case let .nonFiniteLoss(e, b, v, lr):
            return "training stopped: the loss became \(v) at epoch \(e + 1), batch \(b + 1) (learning rate \(lr)); "
                + "the weights are not updated with it. Lower the learning rate, enable gradient clipping, or check the data for NaN values."
        case .badConfig(let s): return "invalid training configuration: \(s)"
        case .checkpointMismatch(let s): return "cannot resume: \(s)"
        }
    }
}

/// One line of the JSON-lines training log.
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    public var learningRate: Double
    public var seconds: Double
    public var imagesPerSecond: Double
}

/// Progress of the current epoch, for progress bars.
public struct BatchProgress: Sendable {
    public let epoch: Int, epochs: Int, batch: Int, batches: Int
    public let loss: Double, accuracy: Double, imagesPerSecond: Double
}

/// Trains a classifier with a seeded, resumable loop: batches of epoch `e` depend only on
/// (seed, e), and a checkpoint after every epoch holds weights, buffers, optimizer state and the
/// state of every dropout generator, so resuming gives the same result as not stopping.
public final class Trainer {
    public let model: any Layer
    public let config: TrainingConfig
    public let train: Dataset
    public let test: Dataset
    public let optimizer: any Optimizer
    public private(set) var history: [EpochRecord] = []
    /// Recorded in checkpoints so that resuming onto other data is refused.
    private let dataFingerprint: String

    public init(model: any Layer, config: TrainingConfig, train: Dataset, test: Dataset) throws {
        try config.validate()
        try checkTrainable(train: train, test: test)
        dataFingerprint = Self.fingerprint(train: train, test: test)
        self.model = model
        self.config = config
        self.train = train
        self.test = test
        optimizer = try config.makeOptimizer(model.parameters())
    }

    /// Runs the remaining epochs. With `checkpoint`, state is saved after every epoch (and read
    /// first when `resume` is set); with `log`, one JSON line per epoch is appended. An error
    /// thrown by `progress` stops training there (the last checkpoint stays valid).
    @discardableResult
    public func run(checkpoint: URL? = nil, resume: Bool = false, log: URL? = nil,
                    progress: ((BatchProgress) throws -> Void)? = nil) throws -> [EpochRecord] {
        let loader = BatchLoader(train, batchSize: config.batchSize, shuffle: true, dropLast: false,
                                 augmentation: Augmentation(cropPadding: config.cropPadding,
                                                            horizontalFlip: config.horizontalFlip, cutout: config.cutout),
                                 seed: config.seed)
        let steps = loader.batchCount()
        let schedule = try config.makeSchedule(stepsPerEpoch: steps)
        var startEpoch = 0
        if resume, let checkpoint, FileManager.default.fileExists(atPath: checkpoint.path) {
            startEpoch = try restore(from: checkpoint)
        }
        // The log is rewritten from the checkpoint's history, so a run killed after a checkpoint
        // but before its log line (or the reverse) leaves no missing or repeated line.
        if let log { try rewriteLog(history, to: log) }
        let params = model.parameters()
        for epoch in startEpoch..<config.epochs {
            model.train()
            (model as? EpochScheduled)?.beginTrainingEpoch(epoch, of: config.epochs)
            let start = Date()
            var lossSum = 0.0, correct = 0, seen = 0
            for (b, batch) in loader.epoch(epoch).enumerated() {
                // Ctrl-C / SIGTERM: the last checkpoint is intact; a resumed run redoes this epoch.
                try StopRequest.check()
                let lr = schedule.learningRate(at: epoch * steps + b)
                optimizer.learningRate = lr
                let logits = model(batch.images)
                var loss = crossEntropy(logits, targets: batch.labels, labelSmoothing: config.labelSmoothing)
                if let extra = (model as? AuxiliaryLoss)?.auxiliaryLoss(targets: batch.labels) { loss = loss + extra }
                guard loss.item.isFinite else {
                    throw TrainingError.nonFiniteLoss(epoch: epoch, batch: b, value: loss.item, learningRate: lr)
                }
                optimizer.zeroGrad()
                loss.backward()
                if config.gradientClip > 0 { clipGradNorm(params, maxNorm: config.gradientClip) }
                optimizer.step()
                lossSum += Double(loss.item) * Double(batch.labels.count)
                correct += zip(logits.argmaxLastAxis(), batch.labels).filter { $0 == $1 }.count
                seen += batch.labels.count
                try progress?(BatchProgress(epoch: epoch, epochs: config.epochs, batch: b, batches: steps,
                                        loss: lossSum / Double(seen), accuracy: Double(correct) / Double(seen),
                                        imagesPerSecond: Double(seen) / max(Date().timeIntervalSince(start), 1e-9)))
            }
            let seconds = Date().timeIntervalSince(start)
            let (testLoss, testAcc) = evaluate(test)
            let record = EpochRecord(epoch: epoch + 1, trainLoss: lossSum / Double(max(seen, 1)),
                                     trainAccuracy: Double(correct) / Double(max(seen, 1)),
                                     testLoss: testLoss, testAccuracy: testAcc,
                                     learningRate: Double(schedule.learningRate(at: (epoch + 1) * steps - 1)),
                                     seconds: seconds, imagesPerSecond: Double(seen) / max(seconds, 1e-9))
            history.append(record)
            if let checkpoint { try save(to: checkpoint, epochsDone: epoch + 1) }
            if let log { try appendLog(record, to: log) }
        }
        return history
    }

    /// Mean loss and accuracy on a data set, in evaluation mode without gradients.
    public func evaluate(_ data: Dataset, batchSize: Int = 500) -> (loss: Double, accuracy: Double) {
        Self.evaluate(model, on: data, batchSize: batchSize)
    }

    /// Mean loss and accuracy of any model on a data set, in evaluation mode without gradients
    /// (the model is back in training mode afterwards).
    public static func evaluate(_ model: any Layer, on data: Dataset, batchSize: Int = 500) -> (loss: Double, accuracy: Double) {
        model.eval()
        defer { model.train() }
        return withoutGrad {
            var lossSum = 0.0, correct = 0
            for batch in BatchLoader(data, batchSize: batchSize, shuffle: false).epoch(0) {
                let logits = model(batch.images)
                lossSum += Double(crossEntropy(logits, targets: batch.labels).item) * Double(batch.labels.count)
                correct += zip(logits.argmaxLastAxis(), batch.labels).filter { $0 == $1 }.count
            }
            return (lossSum / Double(max(data.count, 1)), Double(correct) / Double(max(data.count, 1)))
        }
    }

    private func save(to url: URL, epochsDone: Int) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let generators = model.namedModules().compactMap { path, m in (m as? Dropout).map { (path, $0.generator.state) } }
        let metadata: [String: String] = [
            "format": "swiftnas-checkpoint-1",
            "epochs_done": String(epochsDone),
            "config": String(decoding: try encoder.encode(config), as: UTF8.self),
            "history": String(decoding: try encoder.encode(history), as: UTF8.self),
            "generators": String(decoding: try encoder.encode(Dictionary(uniqueKeysWithValues: generators)), as: UTF8.self),
            "data": dataFingerprint,
        ]
        try Checkpoint(model: model, optimizer: optimizer, metadata: metadata).write(to: url)
    }

    /// Loads a checkpoint and returns the number of epochs it had completed.
    private func restore(from url: URL) throws -> Int {
        let c = try Checkpoint.read(url)
        guard let configText = c.metadata["config"], let done = c.metadata["epochs_done"].flatMap(Int.init),
              let saved = try? JSONDecoder().decode(TrainingConfig.self, from: Data(configText.utf8)) else {
            throw TrainingError.checkpointMismatch("\(url.path) is not a SwiftNAS training checkpoint (no config/epochs_done metadata)")
        }
        guard (0...config.epochs).contains(done) else {
            throw TrainingError.checkpointMismatch("\(url.path): epochs_done is \(done), not in 0...\(config.epochs)")
        }
        // The data the checkpoint was trained on must be the data given now.
        if let stored = c.metadata["data"], stored != dataFingerprint {
            throw TrainingError.checkpointMismatch("\(url.path) was trained on other data (\(stored)); this run has \(dataFingerprint)")
        }
        var comparable = saved
        comparable.epochs = config.epochs   // training longer than first planned is allowed…
        guard comparable == config else {
            throw TrainingError.checkpointMismatch("\(url.path) was written with different training settings: \(configText)")
        }
        guard saved.epochs == config.epochs || config.schedule == "constant" else {
            // …but only when the schedule does not depend on the total length.
            throw TrainingError.checkpointMismatch("\(url.path) planned \(saved.epochs) epochs; a \(config.schedule) schedule cannot be extended to \(config.epochs)")
        }
        do { try c.restore(into: model, optimizer: optimizer) } catch {
            throw TrainingError.checkpointMismatch("\(url.path) does not fit this model: \(error)")
        }
        if let g = c.metadata["generators"], let states = try? JSONDecoder().decode([String: [UInt64]].self, from: Data(g.utf8)) {
            for (path, m) in model.namedModules() {
                guard let d = m as? Dropout, let s = states[path] else { continue }
                guard let g = SeededGenerator(state: s) else {
                    throw TrainingError.checkpointMismatch("\(url.path): the dropout generator state of \(path) is invalid")
                }
                d.generator = g
            }
        }
        guard let h = c.metadata["history"], let records = try? JSONDecoder().decode([EpochRecord].self, from: Data(h.utf8)),
              records.count == done else {
            throw TrainingError.checkpointMismatch("\(url.path): its history does not list the \(done) epochs it claims")
        }
        history = records
        return done
    }

    /// Sizes, shapes and a checksum of the training and test sets.
    private static func fingerprint(train: Dataset, test: Dataset) -> String {
        func sum(_ d: Dataset) -> String {
            var c = Checksum()
            for v in d.images { c.mix(UInt64(v.bitPattern)) }
            for l in d.labels { c.mix(UInt64(truncatingIfNeeded: l)) }
            return c.hex
        }
        return "train \(train.count)×\(train.imageShape) #\(sum(train)), test \(test.count)×\(test.imageShape) #\(sum(test))"
    }

    private static func logLine(_ record: EpochRecord) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.keyEncodingStrategy = .convertToSnakeCase
        var line = try encoder.encode(record)
        line.append(0x0A)
        return line
    }

    private func rewriteLog(_ records: [EpochRecord], to url: URL) throws {
        var all = Data()
        for r in records { all.append(try Self.logLine(r)) }
        try AtomicFile.write(all, to: url)
    }

    private func appendLog(_ record: EpochRecord, to url: URL) throws {
        let line = try Self.logLine(record)
        if let h = FileHandle(forWritingAtPath: url.path) {
            defer { try? h.close() }
            try h.seekToEnd()
            try h.write(contentsOf: line)
        } else {
            try line.write(to: url)
        }
    }
}
