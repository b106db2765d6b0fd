import Foundation
import NASTensor

/// Multi-head self/cross attention on `[B, T, D]` tensors, laid out like PyTorch's
/// `nn.MultiheadAttention(batch_first=True)`: a packed `inProjWeight [3D, D]`, `inProjBias [3D]`
/// and an output projection.
public final class MultiHeadAttention: Module {
    public let heads: Int
    public let dim: Int
    public let inProjWeight: Tensor
    public let inProjBias: Tensor
    public let outProj: Linear

    public init(dim: Int, heads: Int, using rng: inout SeededGenerator) {
        precondition(dim % heads == 0, "MultiHeadAttention: dim \(dim) not divisible by \(heads) heads")
        self.dim = dim
        self.heads = heads
        inProjWeight = Init.xavierUniform([3 * dim, dim], using: &rng)
        inProjBias = Init.zeros([3 * dim])
        outProj = Linear(dim, dim, using: &rng)
        outProj.bias?.fill(0)
    }

    /// Self-attention when `key`/`value` are nil. `mask` (optional, `[T, S]`) is added to the scores
    /// (use −∞ to block a position).
    public func callAsFunction(_ query: Tensor, key: Tensor? = nil, value: Tensor? = nil, mask: Tensor? = nil) -> Tensor {
        let b = query.shape[0], t = query.shape[1]
        let k = key ?? query, v = value ?? query
        let s = k.shape[1], hd = dim / heads
        func project(_ x: Tensor, _ part: Int, _ len: Int) -> Tensor {
            let w = inProjWeight.slice(axis: 0, (part * dim)..<((part + 1) * dim))
            let bias = inProjBias.slice(axis: 0, (part * dim)..<((part + 1) * dim))
            // [B, L, D] → [B, L, H, hd] → [B, H, L, hd] → [B·H, L, hd]
            return (matmul(x, w, transposeB: true) + bias)
                .reshaped([b, len, heads, hd]).permuted([0, 2, 1, 3]).reshaped([b * heads, len, hd])
        }
        let q = project(query, 0, t), kk = project(k, 1, s), vv = project(v, 2, s)
        var scores = matmul(q, kk, transposeB: true) * (1 / Float(hd).squareRoot())
        if let mask { scores = scores + mask }
        let context = matmul(softmax(scores), vv)                       // [B·H, T, hd]
            .reshaped([b, heads, t, hd]).permuted([0, 2, 1, 3]).reshaped([b, t, dim])
        return outProj(context)
    }
}
