import Foundation
import XCTest
import NASTensor

/// Kernels that split work over `Parallel.threadCount` workers (per-image chunks, per-worker
/// weight-gradient partials, row-split GEMM) give the single-threaded result for uneven splits.
final class ParallelConsistencyTests: ThreadCountRestoringTestCase {
    /// Runs `f` on fresh copies of `inputs` and returns the output and every input gradient.
    private func run(_ inputs: [Tensor], threads: Int, _ f: ([Tensor]) -> Tensor) -> [[Float]] {
        Parallel.threadCount = threads
        let leaves = inputs.map { t -> Tensor in let c = t.copy(); c.requiresGrad = true; return c }
        let y = f(leaves)
        var rng = SeededGenerator(seed: 4)
        y.backward(Tensor.normal(y.shape, using: &rng))
        return [y.array] + leaves.map { $0.grad?.array ?? [] }
    }

    private func assertThreadIndependent(_ name: String, _ inputs: [Tensor], file: StaticString = #filePath,
                                         line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
        let reference = run(inputs, threads: 1, f)
        for threads in [2, 3, 4] {
            let other = run(inputs, threads: threads, f)
            for (i, (a, b)) in zip(other, reference).enumerated() {
                XCTAssertFalse(b.isEmpty, "\(name): missing gradient \(i)", file: file, line: line)
                assertClose(a, b, rtol: 1e-5, atol: 1e-6, "\(name) with \(threads) threads, \(i == 0 ? "output" : "gradient \(i - 1)")",
                            file: file, line: line)
            }
        }
    }

    func testConvolutionsAcrossThreadCounts() {
        var rng = SeededGenerator(seed: 21)
        let x = Tensor.normal([5, 6, 6, 4], using: &rng)
        assertThreadIndependent("conv2d", [x, Tensor.normal([3, 3, 3, 4], using: &rng), Tensor.normal([3], using: &rng)]) {
            conv2d($0[0], $0[1], bias: $0[2], Conv2dOptions(stride: 2, padding: 1))
        }
        assertThreadIndependent("grouped conv2d", [x, Tensor.normal([6, 3, 3, 2], using: &rng)]) {
            conv2d($0[0], $0[1], Conv2dOptions(padding: 1, groups: 2))
        }
        assertThreadIndependent("depthwise conv2d", [x, Tensor.normal([4, 3, 3, 1], using: &rng)]) {
            conv2d($0[0], $0[1], Conv2dOptions(padding: 1, groups: 4))
        }
        assertThreadIndependent("pointwise conv2d", [x, Tensor.normal([5, 1, 1, 4], using: &rng)]) {
            conv2d($0[0], $0[1])
        }
        assertThreadIndependent("convTranspose2d", [x, Tensor.normal([4, 3, 3, 2], using: &rng)]) {
            convTranspose2d($0[0], $0[1], Conv2dOptions(stride: 2, padding: 1), outputPadding: (1, 1))
        }
    }

    func testPoolingAcrossThreadCounts() {
        var rng = SeededGenerator(seed: 22)
        let x = distinct([5, 5, 4, 3], &rng, spacing: 0.01)
        assertThreadIndependent("maxPool2d", [x]) { maxPool2d($0[0], kernel: 3, stride: 2, padding: 1) }
        assertThreadIndependent("avgPool2d", [x]) { avgPool2d($0[0], kernel: 3, stride: 1, padding: 1, countIncludePad: false) }
    }

    func testMatmulAcrossThreadCounts() {
        var rng = SeededGenerator(seed: 23)
        // Large enough for the row-split GEMM to use several workers.
        let a = Tensor.normal([70, 64], using: &rng), b = Tensor.normal([64, 48], using: &rng)
        assertThreadIndependent("matmul", [a, b]) { matmul($0[0], $0[1]) }
        assertThreadIndependent("matmul transposeA", [a.transposedLast().copy(), b]) { matmul($0[0], $0[1], transposeA: true) }
        assertThreadIndependent("matmul transposeB", [a, b.transposedLast().copy()]) { matmul($0[0], $0[1], transposeB: true) }
        let ba = Tensor.normal([5, 4, 3], using: &rng), bb = Tensor.normal([5, 3, 2], using: &rng)
        assertThreadIndependent("batched matmul", [ba, bb]) { matmul($0[0], $0[1]) }
    }

    /// Element-wise kernels, softmax rows, permutes and `linear` split their work only above a
    /// chunk size (32 Ki elements), so these inputs are large enough to be split.
    func testLargeElementwiseKernelsAcrossThreadCounts() {
        var rng = SeededGenerator(seed: 25)
        let x = Tensor.normal([96, 17, 48], std: 2, using: &rng)
        assertThreadIndependent("gelu", [x]) { gelu($0[0]) }
        assertThreadIndependent("silu", [x]) { silu($0[0]) }
        assertThreadIndependent("sigmoid", [x]) { sigmoid($0[0]) }
        assertThreadIndependent("relu", [x]) { relu($0[0]) }
        assertThreadIndependent("x · scalar", [x, Tensor(shape: [1], data: [0.5])]) { $0[0] * $0[1] }
        assertThreadIndependent("softmax", [x]) { softmax($0[0], scale: 0.3) }
        assertThreadIndependent("permute", [x]) { $0[0].reshaped([96, 17, 4, 12]).permuted([0, 2, 1, 3]) }
        assertThreadIndependent("packed self-attention", [Tensor.normal([9, 17, 48], using: &rng)]) {
            packedSelfAttention($0[0], heads: 4)
        }
        assertThreadIndependent("linear", [x, Tensor.normal([40, 48], using: &rng), Tensor.normal([40], using: &rng)]) {
            linear($0[0], weight: $0[1], bias: $0[2])
        }
    }

    func testLargeMatmulMatchesNaiveWithSeveralWorkers() {
        Parallel.threadCount = 3
        var rng = SeededGenerator(seed: 24)
        let (m, k, n) = (70, 64, 48)
        let a = Tensor.normal([m, k], using: &rng, requiresGrad: true), b = Tensor.normal([n, k], using: &rng, requiresGrad: true)
        let y = matmul(a, b, transposeB: true)
        let g = Tensor.normal([m, n], using: &rng)
        y.backward(g)
        var expected = [Float](repeating: 0, count: m * n)
        var ga = [Float](repeating: 0, count: m * k), gb = [Float](repeating: 0, count: n * k)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a.data[i * k + p]) * Double(b.data[j * k + p]) }
                expected[i * n + j] = Float(s)
            }
            for p in 0..<k {
                var s = 0.0
                for j in 0..<n { s += Double(g.data[i * n + j]) * Double(b.data[j * k + p]) }
                ga[i * k + p] = Float(s)
            }
        }
        for j in 0..<n {
            for p in 0..<k {
                var s = 0.0
                for i in 0..<m { s += Double(g.data[i * n + j]) * Double(a.data[i * k + p]) }
                gb[j * k + p] = Float(s)
            }
        }
        assertClose(y.array, expected, rtol: 1e-4, atol: 1e-5, "output")
        assertClose(a.grad?.array ?? [], ga, rtol: 1e-4, atol: 1e-5, "gradient of a")
        assertClose(b.grad?.array ?? [], gb, rtol: 1e-4, atol: 1e-5, "gradient of b")
    }
}
