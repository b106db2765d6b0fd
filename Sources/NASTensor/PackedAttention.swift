import CKernels

/// Multi-head self-attention read straight from a packed projection: `qkv` is `[B, T, 3·D]` with
/// the queries in columns `0..<D`, the keys in `D..<2D` and the values in `2D..<3D`, each holding
/// the heads side by side (`D = heads · d`, PyTorch's `in_proj` layout). Returns
/// softmax(Q·Kᵀ/√d + mask)·V per head as `[B, T, D]`, heads side by side again.
///
/// One tape node: the per-head GEMMs address the packed rows through their leading dimension,
/// so no head is copied out or permuted back (those permutes took 5 % of a ViT step), and the
/// backward writes the three gradients into one `[B, T, 3·D]` tensor. `mask` (`[T, T]`, not
/// differentiated) is added to the scaled scores; use −∞ to block a position.
public func packedSelfAttention(_ qkv: Tensor, heads: Int, mask: Tensor? = nil) -> Tensor {
    precondition(qkv.rank == 3 && heads > 0 && qkv.shape[2] % (3 * heads) == 0,
                 "packedSelfAttention: qkv \(qkv.shape) is not [B, T, 3·heads·d] for \(heads) heads")
    let b = qkv.shape[0], t = qkv.shape[1], dim = qkv.shape[2] / 3, hd = dim / heads
    if let mask { precondition(mask.shape == [t, t], "packedSelfAttention: mask \(mask.shape) is not [\(t), \(t)]") }
    let scale = 1 / Float(hd).squareRoot()
    let out = Tensor(uninitializedShape: [b, t, dim])
    let weights = Tensor(uninitializedShape: [b * heads, t, t])      // softmax rows, kept for the backward
    let pin = UncheckedSendable(qkv.data), pout = UncheckedSendable(out.data), pw = UncheckedSendable(weights.data)
    let pmask = mask.map { UncheckedSendable($0.data) }
    let ld = 3 * dim
    Parallel.forChunks(b * heads) { _, items in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: t * t)
        defer { scores.deallocate() }
        for item in items {
            let q = pin.value + (item / heads) * t * ld + (item % heads) * hd
            let w = pw.value + item * t * t
            sgemm(transA: false, transB: true, m: t, n: t, k: hd, a: q, lda: ld, b: q + dim, ldb: ld, c: scores, ldc: t)
            if let pmask {
                for i in 0..<(t * t) { scores[i] = scale * scores[i] + pmask.value[i] }
                nas_softmax_rows(scores, t, t, 1, w)
            } else {
                nas_softmax_rows(scores, t, t, scale, w)
            }
            sgemm(transA: false, transB: false, m: t, n: hd, k: t, a: w, lda: t, b: q + 2 * dim, ldb: ld,
                  c: pout.value + (item / heads) * t * dim + (item % heads) * hd, ldc: dim)
        }
    }
    return out.recorded("packedSelfAttention", [qkv]) { g in
        let grad = Tensor(uninitializedShape: qkv.shape)
        let pin = UncheckedSendable(qkv.data), pw = UncheckedSendable(weights.data)
        let pg = UncheckedSendable(g.data), pgrad = UncheckedSendable(grad.data)
        Parallel.forChunks(b * heads) { _, items in
            let gScores = UnsafeMutablePointer<Float>.allocate(capacity: t * t)
            defer { gScores.deallocate() }
            for item in items {
                let offset = (item / heads) * t * ld + (item % heads) * hd
                let q = pin.value + offset, gq = pgrad.value + offset
                let w = pw.value + item * t * t
                let gOut = pg.value + (item / heads) * t * dim + (item % heads) * hd
                // ∂weights = ∂out·Vᵀ, ∂V = weightsᵀ·∂out
                sgemm(transA: false, transB: true, m: t, n: t, k: hd, a: gOut, lda: dim, b: q + 2 * dim, ldb: ld,
                      c: gScores, ldc: t)
                sgemm(transA: true, transB: false, m: t, n: hd, k: t, a: w, lda: t, b: gOut, ldb: dim,
                      c: gq + 2 * dim, ldc: ld)
                // Through the softmax and the scale: ∂S = scale · w ⊙ (∂w − Σ ∂w·w)
                for r in 0..<t {
                    let wr = w + r * t, gr = gScores + r * t
                    var dot: Float = 0
                    for i in 0..<t { dot += gr[i] * wr[i] }
                    for i in 0..<t { gr[i] = scale * wr[i] * (gr[i] - dot) }
                }
                // ∂Q = ∂S·K, ∂K = ∂Sᵀ·Q
                sgemm(transA: false, transB: false, m: t, n: hd, k: t, a: gScores, lda: t, b: q + dim, ldb: ld,
                      c: gq, ldc: ld)
                sgemm(transA: true, transB: false, m: t, n: hd, k: t, a: gScores, lda: t, b: q, ldb: ld,
                      c: gq + dim, ldc: ld)
            }
        }
        return [grad]
    }
}
