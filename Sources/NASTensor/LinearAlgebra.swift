import CKernels
import COpenBLAS
import Foundation

/// Dense double-precision linear algebra through the LAPACK routines inside OpenBLAS.
public enum LinearAlgebra {
    /// Eigenvalues (ascending) of a symmetric `n × n` matrix stored row-major.
    public static func symmetricEigenvalues(_ matrix: [Double], n: Int) -> [Double] {
        precondition(matrix.count == n * n, "symmetricEigenvalues: \(matrix.count) values for a \(n)×\(n) matrix")
        let (w, _, info) = dsyev(matrix, n: n, vectors: false)
        precondition(info == 0, "dsyev failed with info \(info)")
        return w
    }

    /// Eigenvalues (descending) and unit eigenvectors (`vectors[i]` belongs to `values[i]`) of a
    /// symmetric `n × n` matrix stored row-major; nil when LAPACK does not converge.
    public static func symmetricEigen(_ matrix: [Double], n: Int) -> (values: [Double], vectors: [[Double]])? {
        guard n >= 1, matrix.count == n * n else { return nil }
        let (w, a, info) = dsyev(matrix, n: n, vectors: true)
        guard info == 0 else { return nil }
        // LAPACK's column-major output: column i of the row-major buffer seen transposed is row i.
        let vectors = (0..<n).map { i in Array(a[(i * n)..<((i + 1) * n)]) }
        return (Array(w.reversed()), Array(vectors.reversed()))
    }

    /// LAPACK's dsyev: ascending eigenvalues, the eigenvectors overwriting the matrix when asked.
    private static func dsyev(_ matrix: [Double], n: Int, vectors: Bool) -> (values: [Double], matrix: [Double], info: Int32) {
        var a = matrix
        var w = [Double](repeating: 0, count: n)
        var nn = Int32(n), lda = Int32(n), info: Int32 = 0
        var jobz = CChar(UInt8(ascii: vectors ? "V" : "N")), uplo = CChar(UInt8(ascii: "U"))
        var lwork: Int32 = -1
        var query = 0.0
        dsyev_(&jobz, &uplo, &nn, &a, &lda, &w, &query, &lwork, &info)
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: Int(max(lwork, 1)))
        dsyev_(&jobz, &uplo, &nn, &a, &lda, &w, &work, &lwork, &info)
        return (w, a, info)
    }

    /// log |det A| of an `n × n` matrix (row-major) by LU factorisation; −∞ when A is singular.
    public static func logAbsDeterminant(_ matrix: [Double], n: Int) -> Double {
        precondition(matrix.count == n * n, "logAbsDeterminant: \(matrix.count) values for a \(n)×\(n) matrix")
        var a = matrix   // row-major A is column-major Aᵀ, which has the same determinant
        var ipiv = [Int32](repeating: 0, count: n)
        var m = Int32(n), nn = Int32(n), lda = Int32(n), info: Int32 = 0
        dgetrf_(&m, &nn, &a, &lda, &ipiv, &info)
        if info > 0 { return -.infinity }
        precondition(info == 0, "dgetrf failed with info \(info)")
        var s = 0.0
        for i in 0..<n {
            let d = Swift.abs(a[i * n + i])
            if d == 0 { return -.infinity }
            s += Foundation.log(d)
        }
        return s
    }
}

extension LinearAlgebra {
    /// Adds `weight ·` NASWOT's kernel of the binary codes `x > 0` of a batch `[B, …]` to `k`
    /// (`B × B`, row-major): entry (i, j) counts the units on which images i and j agree, i.e.
    /// `C·Cᵀ + (1−C)(1−C)ᵀ`. Codes are packed into bits and compared with XOR + popcount.
    public static func accumulateAgreementKernel(_ x: Tensor, weight: Double = 1, into k: inout [Double]) {
        let b = x.shape[0], d = x.count / b, words = (d + 63) / 64
        precondition(k.count == b * b, "agreement kernel needs a \(b)×\(b) matrix")
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: b * words)
        defer { bits.deallocate() }
        let xs = UncheckedSendable(x.data), bs = UncheckedSendable(bits)
        Parallel.forChunks(b) { _, rows in
            nas_pack_positive_bits(xs.value + rows.lowerBound * d, rows.count, d, words, bs.value + rows.lowerBound * words)
        }
        k.withUnsafeMutableBufferPointer { kb in
            let ks = UncheckedSendable(kb.baseAddress!)
            // Row i compares with every j ≥ i, so split rows where the pair counts balance; each
            // worker writes rows and columns of its own range only.
            let workers = Parallel.chunkCount(b, minChunk: 8)
            let bounds = (0...workers).map { w -> Int in
                let f = Double(w) / Double(workers)
                return w == workers ? b : Int((Double(b) * (1 - (1 - f).squareRoot())).rounded())
            }
            Parallel.forChunks(workers) { _, range in
                for w in range {
                    nas_agreement_accumulate(bs.value, Int32(b), Int32(bounds[w]), Int32(bounds[w + 1]), words, d, weight, ks.value)
                }
            }
        }
    }

    /// Pearson correlation matrix of the rows of `[rows, columns]` (as `numpy.corrcoef`).
    public static func rowCorrelation(_ m: [Double], rows: Int, columns: Int) -> [Double] {
        var centred = m
        var norms = [Double](repeating: 0, count: rows)
        for r in 0..<rows {
            var mean = 0.0
            for c in 0..<columns { mean += m[r * columns + c] }
            mean /= Double(columns)
            var ss = 0.0
            for c in 0..<columns { let v = m[r * columns + c] - mean; centred[r * columns + c] = v; ss += v * v }
            norms[r] = ss.squareRoot()
        }
        var out = [Double](repeating: 0, count: rows * rows)
        for i in 0..<rows { for j in i..<rows {
            var dot = 0.0
            for c in 0..<columns { dot += centred[i * columns + c] * centred[j * columns + c] }
            let v = dot / (norms[i] * norms[j])
            out[i * rows + j] = v; out[j * rows + i] = v
        }}
        return out
    }
}
