import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// Gradient-based architecture pruning: which channels of each block of a trained `PrunableCNN`
/// to keep, as a complexity-penalised subset selection solved by a relaxation with two
/// temperatures.
///
/// Every channel c has a selection logit α_c and a relaxed gate
///
///     m_c = σ((α_c + τ_n · ℓ_c) / τ_s),   ℓ_c = log u − log(1 − u),  u ~ U(0, 1)
///
/// — τ_n scales the logistic noise of the stochastic relaxation, τ_s sets how sharp the gate is;
/// the two are annealed on separate geometric schedules (noise first, so the choice settles
/// while the gates are still soft, then sharpness, so they end near 0/1). The objective is the
/// task loss of the gated network plus `penalty` × its expected size relative to the full one,
/// size = Σ_l 9·S_{l−1}·S_l + 2·S_l + S_L·classes with S_l = Σ_c m_c. Only the α are trained
/// (Adam); the network's weights stay as the source task left them and batch norm uses its
/// running statistics, so the architecture variables are learnt independently of the weights.
/// A channel is kept when α_c > 0 (at least one per block).
public struct ChannelSelection: Codable, Equatable, Sendable {
    public var steps = 300
    public var batchSize = 128
    public var learningRate: Float = 0.05
    public var penalty: Float = 1
    public var initialLogit: Float = 2
    /// The noise temperature τ_n, annealed from the first value to the second.
    public var noiseTemperature: [Float] = [1, 0.05]
    /// The sharpness temperature τ_s, annealed from the first value to the second.
    public var sharpness: [Float] = [1, 0.05]
    public var seed: UInt64 = 0

    public init() {}

    public func validate() throws {
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw ChannelSelectionError(what) } }
        try check((1...1_000_000).contains(steps), "steps must be in 1…1000000 (got \(steps))")
        try check((1...4096).contains(batchSize), "batch size must be in 1…4096 (got \(batchSize))")
        try check(learningRate.isFinite && learningRate > 0, "learning rate must be positive")
        try check(penalty.isFinite && penalty >= 0, "--penalty must be ≥ 0 (got \(penalty))")
        try check(initialLogit.isFinite, "initial logit must be finite")
        for (t, name) in [(noiseTemperature, "noise temperature"), (sharpness, "sharpness temperature")] {
            try check(t.count == 2 && t.allSatisfy { $0.isFinite && $0 > 0 }, "\(name) needs a positive start and end")
        }
    }

    /// Geometric annealing from `start` to `end` over the steps.
    static func annealed(_ t: [Float], step: Int, of steps: Int) -> Float {
        let f = steps > 1 ? Float(step) / Float(steps - 1) : 1
        return t[0] * Foundation.pow(t[1] / t[0], f)
    }

    /// The relaxed gates for logits `alphas` and uniform draws `uniforms` (one per channel).
    public static func gates(_ alphas: [Tensor], uniforms: [[Float]], noiseTemperature: Float, sharpness: Float) -> [Tensor] {
        zip(alphas, uniforms).map { alpha, u in
            let noise = Tensor(shape: alpha.shape, data: u.map { Foundation.log($0) - Foundation.log(1 - $0) })
            return sigmoid((alpha + noise * noiseTemperature) * (1 / sharpness))
        }
    }

    /// Expected parameter count of the gated network (a differentiable scalar).
    public static func expectedSize(_ gates: [Tensor], inputChannels: Int, classes: Int) -> Tensor {
        var total = Tensor(scalar: Float(classes))
        var previous = Tensor(scalar: Float(inputChannels))
        for g in gates {
            let s = g.sum()
            total = total + previous * s * 9 + s * 2
            previous = s
        }
        return total + previous * Float(classes)
    }

    /// The relaxed objective on one batch for fixed draws: task loss + penalty × size ÷ full size.
    public func objective(_ model: PrunableCNN, alphas: [Tensor], uniforms: [[Float]], noiseTemperature: Float, sharpness: Float,
                          images: Tensor, labels: [Int]) -> Tensor {
        let g = Self.gates(alphas, uniforms: uniforms, noiseTemperature: noiseTemperature, sharpness: sharpness)
        model.gates = g
        defer { model.gates = nil }
        let full = Float(PrunableCNN.parameterCount(widths: model.widths, inputChannels: model.inputChannels, classes: model.classes))
        let size = Self.expectedSize(g, inputChannels: model.inputChannels, classes: model.classes)
        return crossEntropy(model(images), targets: labels) + size * (penalty / full)
    }

    /// The selection logits after training on `data` (the source task), one array per block.
    public func run(_ model: PrunableCNN, on data: Dataset, progress: ((Int, Float) throws -> Void)? = nil) throws -> [[Float]] {
        try validate()
        let alphas = model.widths.map { Tensor(shape: [$0], data: [Float](repeating: initialLogit, count: $0), requiresGrad: true) }
        let optimizer = Adam(alphas, lr: learningRate)
        model.eval()
        model.freeze()
        defer { model.freeze(false); model.train() }
        var rng = SeededGenerator(seed: seed)
        guard data.count > 0 else { throw ChannelSelectionError("no images to select channels on") }
        // Full batches only (a short last batch would weigh a few images like a whole batch),
        // unless the data set is smaller than one batch.
        let loader = BatchLoader(data, batchSize: min(batchSize, data.count), shuffle: true, dropLast: true, seed: seed)
        var step = 0, epoch = 0
        while step < steps {
            try StopRequest.check()
            for batch in loader.epoch(epoch) where step < steps {
                try StopRequest.check()
                let uniforms = model.widths.map { w in (0..<w).map { _ in Float(rng.unitDouble() * 0.998 + 0.001) } }
                let loss = objective(model, alphas: alphas, uniforms: uniforms,
                                     noiseTemperature: Self.annealed(noiseTemperature, step: step, of: steps),
                                     sharpness: Self.annealed(sharpness, step: step, of: steps), images: batch.images, labels: batch.labels)
                guard loss.item.isFinite else { throw ChannelSelectionError("the relaxed objective became \(loss.item) at step \(step + 1)") }
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
                try progress?(step, loss.item)
                step += 1
            }
            epoch += 1
        }
        return alphas.map(\.array)
    }

    /// Kept channels per block: those with a positive logit, at least the best one.
    public static func widths(fromLogits logits: [[Float]]) -> [Int] {
        logits.map { max(1, $0.filter { $0 > 0 }.count) }
    }
}

public struct ChannelSelectionError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = "channel selection: \(message)" }
}

/// The two structures the learnt selection is compared with, at its parameter count.
public enum PruningBaselines {
    /// Magnitude pruning: each channel scored by the L1 norm of its filter divided by its block's
    /// mean, one global threshold for all blocks, chosen so the kept network's size is the
    /// closest to `targetParameters` (at least one channel per block).
    public static func magnitudeWidths(_ model: PrunableCNN, targetParameters: Int, inputChannels: Int = 1, classes: Int = 10) -> [Int] {
        let scores: [[Float]] = model.convolutionWeights.map { w in
            let per = w.count / w.shape[0], values = w.array
            let l1 = (0..<w.shape[0]).map { c in values[(c * per)..<((c + 1) * per)].reduce(0) { $0 + abs($1) } }
            let mean = l1.reduce(0, +) / Float(max(l1.count, 1))
            return l1.map { $0 / max(mean, 1e-12) }
        }
        let thresholds = Set(scores.flatMap { $0 }).sorted()
        var best = model.widths, bestGap = Int.max
        for t in thresholds {
            let w = scores.map { s in max(1, s.filter { $0 >= t }.count) }
            let gap = abs(PrunableCNN.parameterCount(widths: w, inputChannels: inputChannels, classes: classes) - targetParameters)
            if gap < bestGap { (best, bestGap) = (w, gap) }
        }
        return best
    }

    /// A uniformly random width per block (1…full), redrawn until the size is within 5 % of
    /// `targetParameters` (the closest of 100,000 draws otherwise).
    public static func randomWidths(full: [Int], targetParameters: Int, inputChannels: Int = 1, classes: Int = 10, seed: UInt64) -> [Int] {
        var rng = SeededGenerator(seed: seed)
        var best = full, bestGap = Int.max
        for _ in 0..<100_000 {
            let w = full.map { Int(rng.next() % UInt64($0)) + 1 }
            let gap = abs(PrunableCNN.parameterCount(widths: w, inputChannels: inputChannels, classes: classes) - targetParameters)
            if gap < bestGap { (best, bestGap) = (w, gap) }
            if gap * 20 <= targetParameters { break }
        }
        return best
    }
}
