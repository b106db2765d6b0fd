import Foundation

/// Matrix product. `a` is `[..., M, K]` (leading axes flattened into rows) and `b` is `[K, N]`,
/// or both are `[B, M, K]` / `[B, K, N]` (batched). `transposeB` reads `b` as `[N, K]`
/// (how `Linear` stores its weight), `transposeA` reads `a` as `[K, M]`.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    if b.rank == 2 && !(a.rank == 3 && transposeA) {
        precondition(a.rank >= 2, "matmul needs a matrix, got \(a.shape)")
        let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.count / a.shape.last!, a.shape.last!)
        let (kb, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        precondition(k == kb, "matmul: inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") × \(b.shape)\(transposeB ? "ᵀ" : "")")
        let outShape = transposeA ? [m, n] : Array(a.shape.dropLast()) + [n]
        let out = Tensor(uninitializedShape: outShape)
        parallelSgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                      a: a.data, lda: transposeA ? m : k, b: b.data, ldb: transposeB ? k : n,
                      c: out.data, ldc: n)
        return out.recorded("matmul", [a, b]) { g in
            // g: [m, n]
            var ga: Tensor? = nil, gb: Tensor? = nil
            if a.requiresGrad {
                let t = Tensor(uninitializedShape: a.shape)
                if transposeA { // a is [k, m]: ga = b · gᵀ
                    parallelSgemm(transA: transposeB, transB: true, m: k, n: m, k: n, a: b.data, lda: transposeB ? k : n,
                                  b: g.data, ldb: n, c: t.data, ldc: m)
                } else {        // ga = g · bᵀ
                    parallelSgemm(transA: false, transB: !transposeB, m: m, n: k, k: n, a: g.data, lda: n,
                                  b: b.data, ldb: transposeB ? k : n, c: t.data, ldc: k)
                }
                ga = t
            }
            if b.requiresGrad {
                let t = Tensor(uninitializedShape: b.shape)
                if transposeB { // b is [n, k]: gb = gᵀ · a
                    parallelSgemm(transA: true, transB: transposeA, m: n, n: k, k: m, a: g.data, lda: n,
                                  b: a.data, ldb: transposeA ? m : k, c: t.data, ldc: k)
                } else {        // gb = aᵀ · g
                    parallelSgemm(transA: !transposeA, transB: false, m: k, n: n, k: m, a: a.data, lda: transposeA ? m : k,
                                  b: g.data, ldb: n, c: t.data, ldc: n)
                }
                gb = t
            }
            return [ga, gb]
        }
    }
    precondition(a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0],
                 "batched matmul needs [B, M, K] and [B, K, N], got \(a.shape) and \(b.shape)")
    let batch = a.shape[0]
    let (m, k) = transposeA ? (a.shape[2], a.shape[1]) : (a.shape[1], a.shape[2])
    let (kb, n) = transposeB ? (b.shape[2], b.shape[1]) : (b.shape[1], b.shape[2])
    precondition(k == kb, "batched matmul: inner dimensions differ: \(a.shape) × \(b.shape)")
    let out = Tensor(uninitializedShape: [batch, m, n])
    let lda = a.shape[2], ldb = b.shape[2]
    let pa = UncheckedSendable(a.data), pb = UncheckedSendable(b.data), po = UncheckedSendable(out.data)
    Parallel.forChunks(batch) { _, range in
        for i in range {
            sgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, a: pa.value + i * m * k, lda: lda,
                  b: pb.value + i * k * n, ldb: ldb, c: po.value + i * m * n, ldc: n)
        }
    }
    return out.recorded("bmm", [a, b]) { g in
        let ga: Tensor? = !a.requiresGrad ? nil : transposeA
            ? matmul(b, g, transposeA: transposeB, transposeB: true)    // [k, m] = op(b) · gᵀ
            : matmul(g, b, transposeB: !transposeB)                      // [m, k] = g · op(b)ᵀ
        let gb: Tensor? = !b.requiresGrad ? nil : transposeB
            ? matmul(g, a, transposeA: true, transposeB: transposeA)     // [n, k] = gᵀ · op(a)
            : matmul(a, g, transposeA: !transposeA)                      // [k, n] = op(a)ᵀ · g
        return [ga, gb]
    }
}

/// `x·Wᵀ + b` for `x [..., K]`, `weight [N, K]` (PyTorch's layout) and `bias [N]`, as one tape
/// node: the bias is written into the output and the GEMM accumulates onto it (β = 1), which
/// saves a separate broadcast add, its output tensor and its pass over the memory.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    guard let bias else { return matmul(x, weight, transposeB: true) }
    precondition(x.rank >= 1 && weight.rank == 2 && x.shape.last == weight.shape[1] && bias.shape == [weight.shape[0]],
                 "linear: \(x.shape) × \(weight.shape)ᵀ + \(bias.shape)")
    let n = weight.shape[0], k = weight.shape[1], m = x.count / Swift.max(k, 1)
    let out = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [n])
    let po = UncheckedSendable(out.data), pbias = UncheckedSendable(bias.data)
    Parallel.forChunks(m, minChunk: Swift.max(1, elementwiseChunk / Swift.max(n, 1))) { _, rows in
        for r in rows { (po.value + r * n).update(from: pbias.value, count: n) }
    }
    parallelSgemm(transA: false, transB: true, m: m, n: n, k: k, a: x.data, lda: k, b: weight.data, ldb: k,
                  beta: 1, c: out.data, ldc: n)
    return out.recorded("linear", [x, weight, bias]) { g in
        var gx: Tensor? = nil, gw: Tensor? = nil, gb: Tensor? = nil
        if x.requiresGrad {   // g · W
            let t = Tensor(uninitializedShape: x.shape)
            parallelSgemm(transA: false, transB: false, m: m, n: k, k: n, a: g.data, lda: n, b: weight.data, ldb: k,
                          c: t.data, ldc: k)
            gx = t
        }
        if weight.requiresGrad {   // gᵀ · x
            let t = Tensor(uninitializedShape: weight.shape)
            parallelSgemm(transA: true, transB: false, m: n, n: k, k: m, a: g.data, lda: n, b: x.data, ldb: k,
                          c: t.data, ldc: k)
            gw = t
        }
        if bias.requiresGrad { gb = columnSums(g, rows: m, columns: n) }
        return [gx, gw, gb]
    }
}

/// Sums of the columns of a row-major `[rows, columns]` buffer; threads take columns, and each
/// column is summed over the rows in order, so the sums do not depend on the thread count.
private func columnSums(_ t: Tensor, rows: Int, columns: Int) -> Tensor {
    let out = Tensor(zeros: [columns])
    let pt = UncheckedSendable(t.data), po = UncheckedSendable(out.data)
    Parallel.forChunks(columns, minChunk: 16) { _, cols in
        for r in 0..<rows {
            let row = pt.value + r * columns
            for c in cols { po.value[c] += row[c] }
        }
    }
    return out
}
