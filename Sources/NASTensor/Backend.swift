import COpenBLAS

/// The seam between ops and the hardware. Ops call these primitives; a GPU backend would
/// implement the same entry points over device memory.
public enum Device: String, Sendable, Codable {
    case cpu
}

/// Row-major single-precision GEMM: C = alpha·op(A)·op(B) + beta·C, on the calling thread.
@inline(__always)
public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                  a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// GEMM with the rows of C split over the engine's workers.
func parallelSgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                   a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                   beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    // Splitting only pays when each worker gets a sizeable product.
    let minRows = Swift.max(16, 32_768 / Swift.max(n * k, 1))
    let pa = UncheckedSendable(a), pb = UncheckedSendable(b), pc = UncheckedSendable(c)
    Parallel.forChunks(m, minChunk: minRows) { _, rows in
        let aOff = transA ? rows.lowerBound : rows.lowerBound * lda
        sgemm(transA: transA, transB: transB, m: rows.count, n: n, k: k, alpha: alpha,
              a: pa.value + aOff, lda: lda, b: pb.value, ldb: ldb, beta: beta,
              c: pc.value + rows.lowerBound * ldc, ldc: ldc)
    }
}
