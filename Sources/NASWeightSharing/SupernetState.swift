import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// A supernet with its architecture parameters and the two optimizers: SGD with momentum (or
/// AdamW) on the weights, Adam on the architecture parameters α (`[rows, width]` of the supernet's
/// `ModelSpace`: one row per layer or value decision, one column per candidate; NAS-Bench-201:
/// `[6, 5]`, the ops in the benchmark's order). α is not a module tensor, so it never mixes
/// with the weights.
public final class SupernetState {
    public let net: any Supernet
    public let alpha: Tensor
    public let weightOptimizer: any Optimizer
    public let archOptimizer: Adam

    public init(net: any Supernet, config: WeightSharingConfig, seed: UInt64) {
        self.net = net
        // DARTS initialises α at 1e-3 · N(0, 1).
        var rng = SeededGenerator(seed: seed ^ 0xA1FA)
        let shape = [net.space.rows.count, net.space.width]
        alpha = Tensor(shape: shape, data: (0..<(shape[0] * shape[1])).map { _ in 1e-3 * rng.nextNormal() }, requiresGrad: true)
        weightOptimizer = config.weightOptimizer == "adamw"
            ? Adam(net.parameters(), lr: config.weightLearningRate, weightDecay: config.weightDecay, decoupled: true)
            : SGD(net.parameters(), lr: config.weightLearningRate, momentum: config.momentum, weightDecay: config.weightDecay)
        archOptimizer = Adam([alpha], lr: config.archLearningRate, betas: (config.archBeta1, config.archBeta2),
                             weightDecay: config.archWeightDecay)
    }

    public var space: ModelSpace { net.space }

    /// Everything a checkpoint needs, by name.
    func tensors(prefix p: String) -> [String: Tensor] {
        var out: [String: Tensor] = ["\(p)alpha": alpha]
        for (k, v) in net.stateDict() { out["\(p)model.\(k)"] = v }
        for (k, v) in weightOptimizer.stateTensors() { out["\(p)wopt.\(k)"] = v }
        for (k, v) in archOptimizer.stateTensors() { out["\(p)aopt.\(k)"] = v }
        return out
    }

    func load(_ all: [String: Tensor], prefix p: String) throws {
        func strip(_ sub: String) -> [String: Tensor] {
            var out: [String: Tensor] = [:]
            let full = p + sub
            for (k, v) in all where k.hasPrefix(full) { out[String(k.dropFirst(full.count))] = v }
            return out
        }
        guard let a = all["\(p)alpha"], a.shape == alpha.shape else { throw WeightSharingError.checkpointMismatch("no α for '\(p)'") }
        alpha.assign(a)
        try net.load(stateDict: strip("model."))
        try weightOptimizer.loadState(strip("wopt."))
        try archOptimizer.loadState(strip("aopt."))
    }

    /// Copies weights and α from another supernet of the same shape (optimizer state starts afresh).
    func copyWeights(from other: SupernetState) throws {
        try net.load(stateDict: other.net.stateDict())
        alpha.assign(other.alpha)
    }

    /// One SGD step of the weights on `batch` through `mode`; returns (loss, correct).
    @discardableResult
    func weightStep(_ batch: Batch, mode: SupernetMode, gradClip: Float) -> (Float, Int) {
        net.train()
        net.zeroGrad()
        let logits = net(batch.images, mode: mode)
        let loss = crossEntropy(logits, targets: batch.labels)
        loss.backward()
        if gradClip > 0 { clipGradNorm(weightOptimizer.parameters, maxNorm: gradClip) }
        weightOptimizer.step()
        net.zeroGrad()
        alpha.zeroGrad()
        return (loss.item, zip(logits.argmaxLastAxis(), batch.labels).filter { $0 == $1 }.count)
    }

    /// Architecture step: Adam on α with the gradient already in `alpha.grad`.
    func archStep() {
        archOptimizer.step()
        alpha.zeroGrad()
        net.zeroGrad()
    }
}

/// Batch-norm recalibration and single-path scoring on a trained supernet.
public enum PathEvaluation {
    /// Resets every batch norm's running statistics to the exact average over `batches` of the
    /// batch statistics the path `cell` produces (SPOS recalibrates per candidate this way).
    public static func recalibrateBatchNorm(_ net: any Supernet, cell: ArchitectureChoices, batches: [Batch]) {
        let norms = net.namedModules().compactMap { $0.1 as? BatchNorm }
        var sums = norms.map { ([Float](repeating: 0, count: $0.runningMean.count), [Float](repeating: 0, count: $0.runningVar.count)) }
        net.train()
        withoutGrad {
            for batch in batches {
                for bn in norms { bn.runningMean.fill(0); bn.runningVar.fill(0) }
                _ = net(batch.images, mode: .path(cell))
                // From zero, one update leaves momentum × the batch statistic.
                for (i, bn) in norms.enumerated() {
                    for c in 0..<bn.runningMean.count {
                        sums[i].0[c] += bn.runningMean[flat: c] / bn.momentum
                        sums[i].1[c] += bn.runningVar[flat: c] / bn.momentum
                    }
                }
            }
        }
        let n = Float(max(batches.count, 1))
        for (i, bn) in norms.enumerated() {
            for c in 0..<bn.runningMean.count {
                bn.runningMean[flat: c] = sums[i].0[c] / n
                // Unused ops saw no batch: leave them at the identity statistics.
                bn.runningVar[flat: c] = sums[i].1[c] > 0 ? sums[i].1[c] / n : 1
            }
        }
    }

    /// Accuracy of the path `cell` on `data` in evaluation mode.
    public static func accuracy(_ net: any Supernet, cell: ArchitectureChoices, data: Dataset, batchSize: Int = 250) -> Double {
        net.eval()
        defer { net.train() }
        return withoutGrad {
            var correct = 0
            for batch in BatchLoader(data, batchSize: batchSize, shuffle: false).epoch(0) {
                correct += zip(net(batch.images, mode: .path(cell)).argmaxLastAxis(), batch.labels).filter { $0 == $1 }.count
            }
            return Double(correct) / Double(max(data.count, 1))
        }
    }

    /// Recalibrates, then scores `cell` on `data`.
    public static func score(_ net: any Supernet, cell: ArchitectureChoices, calibration: [Batch], data: Dataset) -> Double {
        recalibrateBatchNorm(net, cell: cell, batches: calibration)
        return accuracy(net, cell: cell, data: data)
    }
}
