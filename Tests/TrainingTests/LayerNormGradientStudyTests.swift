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
}
