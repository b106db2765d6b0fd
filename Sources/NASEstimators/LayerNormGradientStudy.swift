import Foundation
import NASData
import NASNN
import NASTensor

/// Xiong et al. (ICML 2020), Theorem 1, measured: at initialisation, the gradient of each
/// block's FFN output weights (`linear2.weight`, W^{2,l} in the paper) for Pre-LN and Post-LN
/// ViTs of several depths. The theorem says the last block's gradient stays about constant with
/// depth L for Post-LN and shrinks like 1/√L for Pre-LN, so Post ÷ Pre grows like √L.
public enum LayerNormGradientStudy {
    /// One network's measurement.
    public struct Row: Codable, Equatable, Sendable {
        public var depth: Int
        public var normFirst: Bool
        public var seed: UInt64
        /// Frobenius norm of ∂loss/∂linear2.weight for blocks 1…depth.
        public var blockGradientNorms: [Double]
    }

    /// Cross-entropy of a freshly initialised ViT (`config` with `depth`/`normFirst` replaced, weights
    /// from `seed`) on `batch`, and every block's FFN-output gradient norm.
    public static func measure(_ config: ViTConfig, depth: Int, normFirst: Bool, seed: UInt64, batch: Batch) -> Row {
        var c = config
        c.depth = depth
        c.normFirst = normFirst
        var rng = SeededGenerator(seed: seed)
        let model = VisionTransformer(c, using: &rng)
        model.train()
        crossEntropy(model(batch.images), targets: batch.labels).backward()
        let norms = model.blocks.map { block -> Double in
            let g = block.linear2.weight.grad?.array ?? []
            return g.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        }
        return Row(depth: depth, normFirst: normFirst, seed: seed, blockGradientNorms: norms)
    }

    /// Every (depth, Pre/Post, seed) combination, Pre-LN first.
    public static func run(_ config: ViTConfig, depths: [Int], seeds: [UInt64], batch: Batch) throws -> [Row] {
        var rows: [Row] = []
        for depth in depths {
            for normFirst in [true, false] {
                for seed in seeds {
                    try StopRequest.check()
                    rows.append(measure(config, depth: depth, normFirst: normFirst, seed: seed, batch: batch))
                }
            }
        }
        return rows
    }

    /// Mean over seeds of the last block's gradient norm, per depth: (Pre-LN, Post-LN, Post ÷ Pre).
    public static func lastBlockSummary(_ rows: [Row]) -> [(depth: Int, pre: Double, post: Double, ratio: Double)] {
        let depths = Array(Set(rows.map(\.depth))).sorted()
        return depths.map { d in
            func lastMean(_ normFirst: Bool) -> Double {
                mean(rows.filter { $0.depth == d && $0.normFirst == normFirst }.compactMap(\.blockGradientNorms.last))
            }
            let pre = lastMean(true), post = lastMean(false)
            return (d, pre, post, post / pre)
        }
    }
}
