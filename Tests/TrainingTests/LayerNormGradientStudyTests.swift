import NASData
import NASEstimators
import NASNN
import NASTensor
import XCTest

final class LayerNormGradientStudyTests: XCTestCase {
    /// Every (depth, order, seed) is measured once, deterministically, with one finite positive
    /// norm per block; the summary's ratio is Post ÷ Pre of the last block's seed means.
    func testStudyMeasuresEveryBlockDeterministically() throws {
        var rng = SeededGenerator(seed: 9)
        let images = Tensor.normal([16, 8, 8, 1], using: &rng)
        let batch = Batch(images: images, labels: (0..<16).map { $0 % 3 })
        var config = ViTConfig()
        (config.height, config.width, config.channels, config.classes) = (8, 8, 1, 3)
        (config.patch, config.dim, config.heads) = (4, 8, 2)
        let rows = try LayerNormGradientStudy.run(config, depths: [2, 4], seeds: [0, 1], batch: batch)
        XCTAssertEqual(rows.count, 8)
        XCTAssertEqual(rows.map(\.blockGradientNorms.count), [2, 2, 2, 2, 4, 4, 4, 4])
        XCTAssertTrue(rows.allSatisfy { $0.blockGradientNorms.allSatisfy { $0.isFinite && $0 > 0 } })
        XCTAssertEqual(try LayerNormGradientStudy.run(config, depths: [2, 4], seeds: [0, 1], batch: batch), rows)
        let summary = LayerNormGradientStudy.lastBlockSummary(rows)
        XCTAssertEqual(summary.map(\.depth), [2, 4])
        let pre = (rows[0].blockGradientNorms[1] + rows[1].blockGradientNorms[1]) / 2
        let post = (rows[2].blockGradientNorms[1] + rows[3].blockGradientNorms[1]) / 2
        XCTAssertEqual(summary[0].ratio, post / pre, accuracy: 1e-12)
    }

    /// A training run records one loss per batch, is deterministic, and warm-up changes it.
    func testTrainingRunsRecordEveryBatchDeterministically() throws {
        var rng = SeededGenerator(seed: 5)
        func data(_ n: Int) -> Dataset {
            let labels = (0..<n).map { $0 % 3 }
            var images = [Float](repeating: 0, count: n * 64)
            for i in 0..<n { for j in 0..<64 { images[i * 64 + j] = Float(rng.nextNormal()) + (j % 3 == labels[i] ? 1 : 0) } }
            return Dataset(images: images, labels: labels, height: 8, width: 8, channels: 1, classCount: 3)
        }
        let train = data(40), test = data(12)
        var config = ViTConfig()
        (config.height, config.width, config.channels, config.classes) = (8, 8, 1, 3)
        (config.patch, config.dim, config.heads, config.depth) = (4, 8, 2, 2)
        let plain = LayerNormTrainingStudy.Setting(learningRate: 1e-3, normFirst: false, warmupEpochs: 0, seed: 1)
        let a = try LayerNormTrainingStudy.train(plain, model: config, epochs: 2, batchSize: 16, train: train, test: test)
        let b = try LayerNormTrainingStudy.train(plain, model: config, epochs: 2, batchSize: 16, train: train, test: test)
        XCTAssertEqual(a.batchLosses.count, 2 * 3)
        XCTAssertEqual(a.batchLosses, b.batchLosses)
        XCTAssertTrue(a.batchLosses.allSatisfy(\.isFinite))
        XCTAssertNotNil(a.testAccuracy)
        var warm = plain
        warm.warmupEpochs = 1
        let w = try LayerNormTrainingStudy.train(warm, model: config, epochs: 2, batchSize: 16, train: train, test: test)
        XCTAssertEqual(w.batchLosses[0], a.batchLosses[0], accuracy: 1e-9, "the first batch sees the same weights")
        XCTAssertNotEqual(w.batchLosses[1], a.batchLosses[1], "warm-up takes a smaller first step")
    }
}
