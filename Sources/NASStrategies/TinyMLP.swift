import Foundation
import NASTensor

/// A small fully connected regression network (ReLU hidden layers, linear output) trained with
/// Adam on mean squared error — the neural predictor inside BANANAS.
///
/// It is written on plain Float arrays with its backward pass by hand: the predictor is tiny
/// (a few thousand weights), runs thousands of times per benchmark, and must be deterministic
/// for a given seed; a general autograd engine would spend more time on bookkeeping than on
/// arithmetic here. Inputs are architecture encodings that are mostly zeros, so the first
/// layer only touches the non-zero inputs.
struct TinyMLP {
    /// Layer widths, input first, 1 last.
    let sizes: [Int]
    /// Per layer l (0-based, l = 0 maps sizes[0] → sizes[1]): row-major [out][in].
    var weights: [[Float]]
    var biases: [[Float]]

    init(sizes: [Int], rng: inout SeededGenerator) {
        precondition(sizes.count >= 2 && sizes.last == 1)
        self.sizes = sizes
        weights = []
        biases = []
        for l in 0..<(sizes.count - 1) {
            let fanIn = sizes[l], fanOut = sizes[l + 1]
            // He-uniform for ReLU layers: keeps activations' scale through depth.
            let bound = (6.0 / Float(fanIn)).squareRoot()
            weights.append((0..<(fanIn * fanOut)).map { _ in (2 * rng.nextFloat() - 1) * bound })
            biases.append([Float](repeating: 0, count: fanOut))
        }
    }

    /// Non-zero entries of an input vector.
    struct SparseInput {
        var indices: [Int]
        var values: [Float]
        init(_ x: [Float]) {
            indices = []; values = []
            for (i, v) in x.enumerated() where v != 0 { indices.append(i); values.append(v) }
        }
    }

    /// Forward pass keeping every layer's post-activation output (needed by backward).
    private func forward(_ x: SparseInput, activations: inout [[Float]]) {
        let layers = sizes.count - 1
        for l in 0..<layers {
            let fanIn = sizes[l], fanOut = sizes[l + 1]
            // A reference to the layer below (no copy): it is not written while this layer is.
            let below = l == 0 ? [] : activations[l - 1]
            let last = l == layers - 1
            weights[l].withUnsafeBufferPointer { w in
                biases[l].withUnsafeBufferPointer { b in
                    below.withUnsafeBufferPointer { input in
                        activations[l].withUnsafeMutableBufferPointer { out in
                            for o in 0..<fanOut {
                                var s = b[o]
                                let row = o * fanIn
                                if l == 0 {
                                    for (k, i) in x.indices.enumerated() { s += w[row + i] * x.values[k] }
                                } else {
                                    for i in 0..<fanIn { s += w[row + i] * input[i] }
                                }
                                out[o] = last ? s : max(s, 0)
                            }
                        }
                    }
                }
            }
        }
    }

    private func emptyActivations() -> [[Float]] { sizes.dropFirst().map { [Float](repeating: 0, count: $0) } }

    func predict(_ x: SparseInput) -> Float {
        var act = emptyActivations()
        forward(x, activations: &act)
        return act[act.count - 1][0]
    }

    /// Mini-batch Adam on mean squared error. Sample order is shuffled each epoch with `rng`.
    mutating func train(inputs: [SparseInput], targets: [Float], epochs: Int, batchSize: Int,
                        learningRate: Float, rng: inout SeededGenerator) {
        let layers = sizes.count - 1
        var gradW = weights.map { [Float](repeating: 0, count: $0.count) }
        var gradB = biases.map { [Float](repeating: 0, count: $0.count) }
        var mW = gradW, vW = gradW, mB = gradB, vB = gradB
        var act = emptyActivations()
        var delta = emptyActivations()
        var order = Array(inputs.indices)
        let beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
        var step = 0
        for _ in 0..<epochs {
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.uniformIndex(below: i + 1)) }
            var start = 0
            while start < order.count {
                let batch = order[start..<min(start + batchSize, order.count)]
                start += batchSize
                for l in 0..<layers {
                    for i in gradW[l].indices { gradW[l][i] = 0 }
                    for i in gradB[l].indices { gradB[l][i] = 0 }
                }
                let scale = 2 / Float(batch.count)
                for n in batch {
                    let x = inputs[n]
                    forward(x, activations: &act)
                    delta[layers - 1][0] = scale * (act[layers - 1][0] - targets[n])
                    for l in stride(from: layers - 1, through: 0, by: -1) {
                        let fanIn = sizes[l], fanOut = sizes[l + 1]
                        // Accumulate this layer's gradients from its output deltas.
                        for o in 0..<fanOut {
                            let d = delta[l][o]
                            if d == 0 { continue }
                            gradB[l][o] += d
                            let row = o * fanIn
                            if l == 0 {
                                for (k, i) in x.indices.enumerated() { gradW[0][row + i] += d * x.values[k] }
                            } else {
                                gradW[l].withUnsafeMutableBufferPointer { g in
                                    act[l - 1].withUnsafeBufferPointer { input in
                                        for i in 0..<fanIn { g[row + i] += d * input[i] }
                                    }
                                }
                            }
                        }
                        // Deltas of the layer below, through its ReLU.
                        if l > 0 {
                            let upper = delta[l]
                            weights[l].withUnsafeBufferPointer { w in
                                delta[l - 1].withUnsafeMutableBufferPointer { below in
                                    act[l - 1].withUnsafeBufferPointer { a in
                                        for i in 0..<fanIn { below[i] = 0 }
                                        for o in 0..<fanOut {
                                            let d = upper[o]
                                            if d == 0 { continue }
                                            let row = o * fanIn
                                            for i in 0..<fanIn { below[i] += w[row + i] * d }
                                        }
                                        for i in 0..<fanIn where a[i] <= 0 { below[i] = 0 }
                                    }
                                }
                            }
                        }
                    }
                }
                step += 1
                let c1 = 1 - Foundation.pow(beta1, Float(step))
                let c2 = 1 - Foundation.pow(beta2, Float(step))
                for l in 0..<layers {
                    Self.adam(&weights[l], gradW[l], &mW[l], &vW[l], learningRate, beta1, beta2, eps, c1, c2)
                    Self.adam(&biases[l], gradB[l], &mB[l], &vB[l], learningRate, beta1, beta2, eps, c1, c2)
                }
            }
        }
    }

    private static func adam(_ p: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float],
                             _ lr: Float, _ b1: Float, _ b2: Float, _ eps: Float, _ c1: Float, _ c2: Float) {
        for i in p.indices {
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            p[i] -= lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + eps)
        }
    }
}
