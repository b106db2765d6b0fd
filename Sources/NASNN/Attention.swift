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
        if key == nil && value == nil {   // self-attention: one projection, heads read in place
            let qkv = linear(query, weight: inProjWeight, bias: inProjBias)
            return outProj(packedSelfAttention(qkv, heads: heads, mask: mask))
        }
        let b = query.shape[0]
        let k = key ?? query, v = value ?? query
        func project(_ x: Tensor, _ part: Int) -> Tensor {
            let w = inProjWeight.slice(axis: 0, (part * dim)..<((part + 1) * dim))
            let bias = inProjBias.slice(axis: 0, (part * dim)..<((part + 1) * dim))
            return splitHeads(linear(x, weight: w, bias: bias), heads: heads)
        }
        let q = project(query, 0), kk = project(k, 1), vv = project(v, 2)
        return outProj(attentionContext(q, kk, vv, batch: b, heads: heads, mask: mask))
    }
}

/// softmax(q·kᵀ/√d + mask)·v for `[B·H, T, d]` queries and `[B·H, S, d]` keys and values,
/// returned with the heads side by side, `[B, T, H·d]` (the input of an output projection).
public func attentionContext(_ q: Tensor, _ k: Tensor, _ v: Tensor, batch b: Int, heads: Int, mask: Tensor? = nil) -> Tensor {
    let t = q.shape[1], hd = q.shape[2]
    let scale = 1 / Float(hd).squareRoot()
    let scores = matmul(q, k, transposeB: true)
    // Without a mask the 1/√d folds into the softmax; a mask is added to the scaled scores.
    let weights = mask.map { softmax(scores * scale + $0) } ?? softmax(scores, scale: scale)
    return matmul(weights, v)                                        // [B·H, T, hd]
        .reshaped([b, heads, t, hd]).permuted([0, 2, 1, 3]).reshaped([b, t, heads * hd])
}

/// `[B, T, H·d]` → `[B·H, T, d]`: each head's slice of a projection as its own batch item.
public func splitHeads(_ x: Tensor, heads: Int) -> Tensor {
    let b = x.shape[0], t = x.shape[1], hd = x.shape[2] / heads
    return x.reshaped([b, t, heads, hd]).permuted([0, 2, 1, 3]).reshaped([b * heads, t, hd])
}
