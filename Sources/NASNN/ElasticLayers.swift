import NASTensor

// Weight sharing by slicing (OFA, AutoFormer, GLiT): a smaller layer of a supernet path uses the
// leading rows/columns of the largest layer's weights, so every path trains the same tensors.
// Slices are copies recorded in the graph: gradients flow back into the full weights.

/// `t` cut to `range` on `axis`, or `t` itself when the range is the whole axis.
func sliced(_ t: Tensor, axis: Int, _ range: Range<Int>) -> Tensor {
    range == 0..<t.shape[axis] ? t : t.slice(axis: axis, range)
}

extension Linear {
    /// The layer restricted to output rows `rows` and the first `inputs` input columns.
    public func callAsFunction(_ x: Tensor, rows: Range<Int>, inputs: Int) -> Tensor {
        let w = sliced(sliced(weight, axis: 0, rows), axis: 1, 0..<inputs)
        let y = matmul(x, w, transposeB: true)
        return bias.map { y + sliced($0, axis: 0, rows) } ?? y
    }

    /// The first `outputs` rows and `inputs` columns.
    public func callAsFunction(_ x: Tensor, outputs: Int, inputs: Int) -> Tensor {
        self(x, rows: 0..<outputs, inputs: inputs)
    }
}

extension BatchNorm {
    /// Batch norm of the first `channels` channels of the last axis of `x`. In training mode
    /// the running statistics of those channels are updated in place, as the full layer would.
    public func callAsFunction(_ x: Tensor, channels n: Int) -> Tensor {
        if n == runningMean.count || isBypassed { return self(x) }
        let mean = runningMean.slice(axis: 0, 0..<n), variance = runningVar.slice(axis: 0, 0..<n)
        let y = batchNorm(x, weight: weight.map { $0.slice(axis: 0, 0..<n) }, bias: bias.map { $0.slice(axis: 0, 0..<n) },
                          runningMean: mean, runningVar: variance, training: training, momentum: momentum, eps: eps)
        if training {
            runningMean.data.update(from: mean.data, count: n)
            runningVar.data.update(from: variance.data, count: n)
        }
        return y
    }
}
