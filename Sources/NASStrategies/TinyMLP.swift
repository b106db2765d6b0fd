import Foundation
import NASNN
import NASTensor

/// A small fully connected regression network (ReLU hidden layers, linear output) trained with
/// Adam on mean squared error — the neural predictor inside BANANAS.
///
/// It is written on one flat Float array with its backward pass by hand: the predictor is tiny
/// (a few thousand weights), is retrained thousands of times in a benchmark, and must be
/// deterministic for a given seed; a general autograd engine would spend more time on
/// bookkeeping than on arithmetic here. Inputs are architecture encodings that are mostly
/// zeros, so the first layer is stored input-major and only the rows of non-zero inputs are
/// touched, forward and backward.
struct TinyMLP {
    /// Where each layer's numbers live in the flat buffers.
    struct Layout {
        /// Layer widths, input first, 1 last.
        let sizes: [Int]
        /// Start of each layer's weights and biases in the parameter buffer. Layer 0: weights
        /// [in][out] (input-major), then bias [out]; later layers: weights [out][in], then bias.
        let weightOffset: [Int]
        let biasOffset: [Int]
        /// Start of each layer's outputs in an activation buffer, and the buffer's length.
        let activationOffset: [Int]
        let activationCount: Int
        let parameterCount: Int

        init(sizes: [Int]) {
            self.sizes = sizes
            var w: [Int] = [], b: [Int] = [], a: [Int] = []
            var p = 0, act = 0
            for l in 0..<(sizes.count - 1) {
                w.append(p); p += sizes[l] * sizes[l + 1]
                b.append(p); p += sizes[l + 1]
                a.append(act); act += sizes[l + 1]
            }
            weightOffset = w; biasOffset = b; activationOffset = a; activationCount = act; parameterCount = p
        }

        /// Forward pass writing every layer's post-activation output into `act`; returns the output.
        func forward(_ x: SparseInput, _ p: UnsafePointer<Float>, _ act: UnsafeMutablePointer<Float>) -> Float {
            let layers = sizes.count - 1
            for l in 0..<layers {
                let fanIn = sizes[l], fanOut = sizes[l + 1]
                let w = p + weightOffset[l], b = p + biasOffset[l]
                let out = act + activationOffset[l]
                for o in 0..<fanOut { out[o] = b[o] }
                if l == 0 {
                    for k in 0..<x.indices.count {
                        let row = w + x.indices[k] * fanOut
                        let v = x.values[k]
                        for o in 0..<fanOut { out[o] += row[o] * v }
                    }
                } else {
                    let input = act + activationOffset[l - 1]
                    for o in 0..<fanOut {
                        let row = w + o * fanIn
                        var s: Float = 0
                        for i in 0..<fanIn { s += row[i] * input[i] }
                        out[o] += s
                    }
                }
                if l < layers - 1 { for o in 0..<fanOut where out[o] < 0 { out[o] = 0 } }
            }
            return act[activationOffset[layers - 1]]
        }
    }

    let layout: Layout
    var parameters: [Float]

    init(sizes: [Int], rng: inout SeededGenerator) {
        precondition(sizes.count >= 2 && sizes.last == 1)
        layout = Layout(sizes: sizes)
        let w = layout.weightOffset
        var params = [Float](repeating: 0, count: layout.parameterCount)
        for l in 0..<(sizes.count - 1) {
            // He-uniform for ReLU layers: keeps activations' scale through depth. Biases start at 0.
            let bound = (6.0 / Float(sizes[l])).squareRoot()
            for i in 0..<(sizes[l] * sizes[l + 1]) { params[w[l] + i] = (2 * rng.nextFloat() - 1) * bound }
        }
        parameters = params
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

    func predict(_ x: SparseInput) -> Float {
        var act = [Float](repeating: 0, count: layout.activationCount)
        return parameters.withUnsafeBufferPointer { p in
            act.withUnsafeMutableBufferPointer { layout.forward(x, p.baseAddress!, $0.baseAddress!) }
        }
    }

    /// Mini-batch Adam on mean squared error. Sample order is shuffled each epoch with `rng`.
    mutating func train(inputs: [SparseInput], targets: [Float], epochs: Int, batchSize: Int,
                        learningRate: Float, rng: inout SeededGenerator) {
        let layout = self.layout
        let layers = layout.sizes.count - 1
        let n = parameters.count
        var grad = [Float](repeating: 0, count: n)
        var m = grad, v = grad
        var act = [Float](repeating: 0, count: layout.activationCount)
        var delta = act
        var order = Array(inputs.indices)
        let beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
        var step = 0
        let sizes = layout.sizes, weightOffset = layout.weightOffset, biasOffset = layout.biasOffset
        let activationOffset = layout.activationOffset
        for _ in 0..<epochs {
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.uniformIndex(below: i + 1)) }
            var start = 0
            while start < order.count {
                let end = min(start + batchSize, order.count)
                let scale = 2 / Float(end - start)
                parameters.withUnsafeMutableBufferPointer { pBuf in
                grad.withUnsafeMutableBufferPointer { gBuf in
                act.withUnsafeMutableBufferPointer { aBuf in
                delta.withUnsafeMutableBufferPointer { dBuf in
                    let p = pBuf.baseAddress!, g = gBuf.baseAddress!, a = aBuf.baseAddress!, d = dBuf.baseAddress!
                    g.update(repeating: 0, count: n)
                    for s in start..<end {
                        let x = inputs[order[s]]
                        let y = layout.forward(x, UnsafePointer(p), a)
                        d[activationOffset[layers - 1]] = scale * (y - targets[order[s]])
                        for l in stride(from: layers - 1, through: 0, by: -1) {
                            let fanIn = sizes[l], fanOut = sizes[l + 1]
                            let dl = d + activationOffset[l]
                            let gw = g + weightOffset[l], gb = g + biasOffset[l]
                            for o in 0..<fanOut { gb[o] += dl[o] }
                            if l == 0 {
                                for k in 0..<x.indices.count {
                                    let row = gw + x.indices[k] * fanOut
                                    let xv = x.values[k]
                                    for o in 0..<fanOut { row[o] += dl[o] * xv }
                                }
                            } else {
                                let input = a + activationOffset[l - 1]
                                let below = d + activationOffset[l - 1]
                                let w = p + weightOffset[l]
                                for i in 0..<fanIn { below[i] = 0 }
                                for o in 0..<fanOut {
                                    let dv = dl[o]
                                    if dv == 0 { continue }
                                    let growRow = gw + o * fanIn, wRow = w + o * fanIn
                                    for i in 0..<fanIn {
                                        growRow[i] += dv * input[i]
                                        below[i] += wRow[i] * dv
                                    }
                                }
                                // Through the ReLU of the layer below.
                                for i in 0..<fanIn where input[i] <= 0 { below[i] = 0 }
                            }
                        }
                    }
                }}}}
                start = end
                step += 1
                let (stepSize, correctionRoot) = adamCorrections(learningRate: learningRate, beta1: beta1, beta2: beta2, step: step)
                parameters.withUnsafeMutableBufferPointer { p in
                grad.withUnsafeBufferPointer { g in
                m.withUnsafeMutableBufferPointer { m in
                v.withUnsafeMutableBufferPointer { v in
                    for i in 0..<n {
                        adamUpdate(&p[i], m: &m[i], v: &v[i], gradient: g[i], beta1: beta1, beta2: beta2, eps: eps,
                                   stepSize: stepSize, correctionRoot: correctionRoot)
                    }
                }}}}
            }
        }
    }
}
