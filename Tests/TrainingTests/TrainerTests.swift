import Foundation
import NASData
import NASEstimators
import NASNN
import NASTensor
import XCTest

/// Fashion-MNIST as the README's install step puts it (Debian's `dataset-fashion-mnist`), or
/// `$SWIFTNAS_FMNIST`.
let fashionMNIST = ProcessInfo.processInfo.environment["SWIFTNAS_FMNIST"] ?? "/usr/share/datasets/fashion-mnist"

private struct Interrupted: Error {}

final class TrainerTests: XCTestCase {
    /// A synthetic 8×8 ten-class image set (each class a fixed random pattern plus noise, so a
    /// small CNN can learn it), normalised, split 80/20.
    func digits(_ n: Int = 400) throws -> (Dataset, Dataset) {
        var rng = SeededGenerator(seed: 77)
        let prototypes = (0..<10).map { _ in (0..<64).map { _ in Float(rng.next() % 256) / 255 } }
        var images: [Float] = [], labels: [Int] = []
        for i in 0..<n {
            let label = i % 10
            labels.append(label)
            images += prototypes[label].map { max(0, min(1, $0 + Float(Int(rng.next() % 101) - 50) / 200)) }
        }
        let all = Dataset(images: images, labels: labels, height: 8, width: 8, channels: 1, classCount: 10)
        let (train, test) = all.split(validationFraction: 0.2, seed: 0)
        let s = train.channelStatistics()
        return (train.normalized(mean: s.mean, std: s.std), test.normalized(mean: s.mean, std: s.std))
    }

    func config(epochs: Int) -> TrainingConfig {
        var c = TrainingConfig()
        c.epochs = epochs; c.batchSize = 32; c.optimizer = "sgd"; c.learningRate = 0.05; c.momentum = 0.9
        c.seed = 11; c.horizontalFlip = true; c.cropPadding = 1
        return c
    }

    func makeModel(_ train: Dataset) -> any Layer {
        var rng = SeededGenerator(seed: 5)
        return ModelZoo.smallCNN(height: train.height, width: train.width, channels: 1, classes: 10, using: &rng)
    }

    func testSameSeedGivesIdenticalLossCurve() throws {
        let (train, test) = try digits()
        var curves: [[Double]] = []
        for _ in 0..<2 {
            var losses: [Double] = []
            let t = try Trainer(model: makeModel(train), config: config(epochs: 2), train: train, test: test)
            try t.run { losses.append($0.loss) }
            curves.append(losses)
        }
        XCTAssertEqual(curves[0].count, 20)
        XCTAssertEqual(curves[0], curves[1])
    }

    func testResumeAfterAKillEqualsAnUninterruptedRun() throws {
        let (train, test) = try digits()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        let straightModel = makeModel(train)
        let straight = try Trainer(model: straightModel, config: config(epochs: 3), train: train, test: test)
        let expected = try straight.run(checkpoint: dir.appendingPathComponent("a.safetensors"))

        // Stop in the middle of the second epoch, as a killed process would.
        let ckpt = dir.appendingPathComponent("b.safetensors")
        let first = try Trainer(model: makeModel(train), config: config(epochs: 3), train: train, test: test)
        XCTAssertThrowsError(try first.run(checkpoint: ckpt) { p in if p.epoch == 1 && p.batch == 4 { throw Interrupted() } })
        let resumedModel = makeModel(train)
        let second = try Trainer(model: resumedModel, config: config(epochs: 3), train: train, test: test)
        let history = try second.run(checkpoint: ckpt, resume: true)

        XCTAssertEqual(history.map { $0.trainLoss }, expected.map { $0.trainLoss })
        XCTAssertEqual(history.map { $0.testAccuracy }, expected.map { $0.testAccuracy })
        for ((name, a), (_, b)) in zip(straightModel.namedTensors(), resumedModel.namedTensors()) {
            XCTAssertEqual(a.array, b.array, name)
        }
        // A checkpoint from other settings is refused with what differs.
        var other = config(epochs: 3); other.learningRate = 0.5
        let mismatched = try Trainer(model: makeModel(train), config: other, train: train, test: test)
        XCTAssertThrowsError(try mismatched.run(checkpoint: ckpt, resume: true)) { e in
            XCTAssertTrue("\(e)".contains("different training settings"), "\(e)")
        }
    }

    func testNonFiniteLossStopsWithAClearMessage() throws {
        let (train, test) = try digits(200)
        var c = config(epochs: 1)
        c.learningRate = 1e12
        let t = try Trainer(model: makeModel(train), config: c, train: train, test: test)
        XCTAssertThrowsError(try t.run()) { e in
            guard case TrainingError.nonFiniteLoss = e else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("the loss became"), "\(e)")
            XCTAssertTrue("\(e)".contains("Lower the learning rate"), "\(e)")
        }
    }

    func testBadConfigurationIsReported() throws {
        let (train, test) = try digits(100)
        var c = config(epochs: 1)
        c.optimizer = "rmsprop"
        XCTAssertThrowsError(try Trainer(model: makeModel(train), config: c, train: train, test: test)) { e in
            XCTAssertEqual("\(e)", "invalid training configuration: optimizer 'rmsprop' is not one of sgd, adam, adamw")
        }
    }

    /// A short run on a Fashion-MNIST subset must learn: the MLP reaches at least 75% test accuracy
    /// on 1,000 test images after two epochs on 3,000 training images.
    func testShortTrainingOnFashionMNISTLearns() throws {
        let (fullTrain, fullTest) = try DatasetReader.idxDirectory(fashionMNIST)
        let train = fullTrain.prefix(3_000), test = fullTest.prefix(1_000)
        let s = train.channelStatistics()
        var rng = SeededGenerator(seed: 0)
        let model = ModelZoo.mlp(inputs: 784, classes: 10, using: &rng)
        var c = TrainingConfig()
        c.epochs = 2; c.batchSize = 64; c.optimizer = "adam"; c.learningRate = 2e-3
        let t = try Trainer(model: model, config: c, train: train.normalized(mean: s.mean, std: s.std),
                            test: test.normalized(mean: s.mean, std: s.std))
        let history = try t.run()
        XCTAssertLessThan(history[1].trainLoss, history[0].trainLoss)
        XCTAssertGreaterThanOrEqual(history[1].testAccuracy, 0.75)
    }

    func testJSONLinesLog() throws {
        let (train, test) = try digits(100)
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("log-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: log) }
        let t = try Trainer(model: makeModel(train), config: config(epochs: 2), train: train, test: test)
        try t.run(log: log)
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(first["epoch"] as? Int, 1)
        for key in ["train_loss", "train_accuracy", "test_loss", "test_accuracy", "learning_rate", "seconds", "images_per_second"] {
            XCTAssertNotNil(first[key], key)
        }
    }
}
