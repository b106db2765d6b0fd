import Foundation
import XCTest
import NASTensor

/// Forward values of the ops the PyTorch fixtures don't cover, against naive Float64 references.
final class ForwardReferenceTests: XCTestCase {
    private var rng = SeededGenerator(seed: 3)

    override func setUp() {
        super.setUp()
        rng = SeededGenerator(seed: 77)
    }

    private func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rest = flat
        var index = [Int](repeating: 0, count: shape.count)
        for ax in stride(from: shape.count - 1, through: 0, by: -1) {
            index[ax] = rest % shape[ax]
            rest /= shape[ax]
        }
        return index
    }

    private func flatIndex(_ index: [Int], _ shape: [Int]) -> Int {
        zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
    }

    /// Value of `t` at the broadcast position `index` of a larger shape.
    private func broadcastValue(_ t: Tensor, _ index: [Int]) -> Double {
        let offset = index.count - t.rank
        let own = (0..<t.rank).map { t.shape[$0] == 1 ? 0 : index[$0 + offset] }
        return Double(t.data[flatIndex(own, t.shape)])
    }

    func testUnaryOps() {
        let x = randn([40], &rng, std: 2)
        let positive = randu([40], &rng, 0.1, 4)
        func expect(_ name: String, _ y: Tensor, _ input: Tensor, _ f: (Double) -> Double) {
            XCTAssertEqual(y.shape, input.shape, name)
            assertClose(y.array, input.array.map { Float(f(Double($0))) }, rtol: 1e-5, atol: 1e-6, name)
        }
        expect("neg", -x, x) { -$0 }
        expect("exp", exp(x), x) { Foundation.exp($0) }
        expect("log", log(positive), positive) { Foundation.log($0) }
        expect("sqrt", sqrt(positive), positive) { $0.squareRoot() }
        expect("pow 3", pow(x, 3), x) { $0 * $0 * $0 }
        expect("pow -0.5", pow(positive, -0.5), positive) { 1 / $0.squareRoot() }
        expect("abs", abs(x), x) { Swift.abs($0) }
        expect("relu", relu(x), x) { Swift.max($0, 0) }
        expect("sigmoid", sigmoid(x), x) { 1 / (1 + Foundation.exp(-$0)) }
        expect("tanh", tanh(x), x) { Foundation.tanh($0) }
        expect("silu", silu(x), x) { $0 / (1 + Foundation.exp(-$0)) }
        expect("gelu", gelu(x), x) { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }
        expect("clamp", clamp(x, min: -1, max: 0.5), x) { Swift.min(Swift.max($0, -1), 0.5) }
        expect("a + s", x + 2, x) { $0 + 2 }
        expect("a - s", x - 2, x) { $0 - 2 }
        expect("a * s", x * 3, x) { $0 * 3 }
        expect("a / s", x / 4, x) { $0 / 4 }
    }

    /// GELU, σ, SiLU and softmax run on the C kernels' own exp and erf (they vectorize, libm's
    /// don't): over a dense grid, including the clamped tails, they stay within float accuracy
    /// of Float64 references, and NaN stays NaN.
    func testVectorizedTranscendentalsAgainstFloat64() {
        let grid = (0..<200_001).map { Float($0) / 10_000 - 10 }            // [-10, 10]
        let x = Tensor(shape: [grid.count], data: grid)
        let gy = gelu(x).array, sy = sigmoid(x).array, wy = silu(x).array
        var worstGelu = 0.0, worstSigmoid = 0.0, worstSilu = 0.0
        for (i, v) in grid.enumerated() {
            let d = Double(v), s = 1 / (1 + Foundation.exp(-d))
            worstGelu = max(worstGelu, Swift.abs(Double(gy[i]) - 0.5 * d * (1 + erf(d / 2.0.squareRoot()))) / max(1, Swift.abs(d)))
            worstSigmoid = max(worstSigmoid, Swift.abs(Double(sy[i]) - s) / s)
            worstSilu = max(worstSilu, Swift.abs(Double(wy[i]) - d * s) / max(1e-3, Swift.abs(d * s)))
        }
        XCTAssertLessThan(worstGelu, 1e-6, "gelu error relative to max(1, |x|)")
        XCTAssertLessThan(worstSigmoid, 1e-6, "sigmoid relative error")
        XCTAssertLessThan(worstSilu, 1e-6, "silu relative error")
        let tails = Tensor(shape: [4], data: [-200, -90, 90, 200])
        XCTAssertEqual(sigmoid(tails).array.map { $0 < 1e-30 }, [true, true, false, false])
        XCTAssertEqual(Array(sigmoid(tails).array[2...]), [1, 1])
        XCTAssertEqual(gelu(tails).array, [0, 0, 90, 200])
        XCTAssertTrue(gelu(Tensor(shape: [1], data: [.nan])).array[0].isNaN, "gelu(NaN)")
        XCTAssertTrue(sigmoid(Tensor(shape: [1], data: [.nan])).array[0].isNaN, "sigmoid(NaN)")

        let scores = randn([50, 17], &rng, std: 4)
        for scale: Float in [1, 0.25, -2] {
            let y = softmax(scores, scale: scale).array
            for r in 0..<50 {
                let row = (0..<17).map { Double(scores.data[r * 17 + $0]) * Double(scale) }
                let m = row.max()!, z = row.reduce(0) { $0 + Foundation.exp($1 - m) }
                assertClose(Array(y[(r * 17)..<((r + 1) * 17)]), row.map { Float(Foundation.exp($0 - m) / z) },
                            rtol: 1e-6, atol: 1e-9, "softmax row \(r), scale \(scale)")
            }
        }
        let masked = softmax(Tensor(shape: [1, 3], data: [0, -.infinity, 0])).array
        assertClose(masked, [0.5, 0, 0.5], rtol: 1e-6, atol: 1e-30, "softmax with a −∞ entry")
        XCTAssertTrue(softmax(Tensor(shape: [1, 2], data: [.nan, 0])).array[0].isNaN, "softmax(NaN)")
    }

    /// `linear` (bias written first, GEMM accumulating onto it) equals matmul + bias.
    func testLinearEqualsMatmulPlusBias() {
        let x = randn([2, 7, 5], &rng), w = randn([3, 5], &rng), b = randn([3], &rng)
        assertClose(linear(x, weight: w, bias: b).array, (matmul(x, w, transposeB: true) + b).array,
                    rtol: 1e-6, atol: 1e-6, "linear")
        XCTAssertEqual(linear(x, weight: w, bias: b).shape, [2, 7, 3])
        XCTAssertEqual(linear(x, weight: w, bias: nil).array, matmul(x, w, transposeB: true).array)
    }

    func testBinaryBroadcast() {
        let pairs: [([Int], [Int])] = [([2, 1, 4], [3, 1]), ([2, 3], [3]), ([1], [2, 2]), ([2, 3], []), ([4, 1], [1, 5])]
        for (sa, sb) in pairs {
            let a = randn(sa, &rng), b = randSigned(sb, &rng, 0.5, 2)
            let ops: [(String, (Tensor, Tensor) -> Tensor, (Double, Double) -> Double)] = [
                ("add", { $0 + $1 }, { $0 + $1 }), ("sub", { $0 - $1 }, { $0 - $1 }),
                ("mul", { $0 * $1 }, { $0 * $1 }), ("div", { $0 / $1 }, { $0 / $1 }),
                ("maximum", { maximum($0, $1) }, { Swift.max($0, $1) }),
            ]
            for (name, op, ref) in ops {
                let y = op(a, b)
                let shape = broadcastShape(sa, sb)
                XCTAssertEqual(y.shape, shape, "\(name) \(sa) \(sb)")
                let expected = (0..<y.count).map { i -> Float in
                    let idx = multiIndex(i, shape)
                    return Float(ref(broadcastValue(a, idx), broadcastValue(b, idx)))
                }
                assertClose(y.array, expected, rtol: 1e-6, atol: 1e-7, "\(name) \(sa) \(sb)")
            }
        }
    }

    func testReductions() {
        let x = randn([2, 3, 4], &rng)
        func reference(_ axes: Set<Int>, _ combine: ([Double]) -> Double) -> [Float] {
            var groups: [[Int]: [Double]] = [:]
            var order: [[Int]] = []
            for i in 0..<x.count {
                let key = multiIndex(i, x.shape).enumerated().map { axes.contains($0.offset) ? 0 : $0.element }
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append(Double(x.data[i]))
            }
            return order.sorted { flatIndex($0, x.shape) < flatIndex($1, x.shape) }.map { Float(combine(groups[$0, default: []])) }
        }
        let sum: ([Double]) -> Double = { $0.reduce(0, +) }
        let mean: ([Double]) -> Double = { $0.reduce(0, +) / Double($0.count) }
        let maxOf: ([Double]) -> Double = { $0.max() ?? .nan }
        let y1 = x.sum(axes: [1])
        XCTAssertEqual(y1.shape, [2, 4])
        assertClose(y1.array, reference([1], sum), "sum axis 1")
        let y2 = x.sum(axes: [0, 2], keepDims: true)
        XCTAssertEqual(y2.shape, [1, 3, 1])
        assertClose(y2.array, reference([0, 2], sum), "sum axes 0,2")
        let y3 = x.sum()
        XCTAssertEqual(y3.shape, [])
        assertClose(y3.array, reference([0, 1, 2], sum), "sum all")
        let y4 = x.mean(axes: [-1], keepDims: true)
        XCTAssertEqual(y4.shape, [2, 3, 1])
        assertClose(y4.array, reference([2], mean), "mean axis -1")
        assertClose(x.mean().array, reference([0, 1, 2], mean), "mean all")
        let y5 = x.max(axis: 1)
        XCTAssertEqual(y5.shape, [2, 4])
        assertClose(y5.array, reference([1], maxOf), "max axis 1")
        XCTAssertEqual(x.max(axis: 0, keepDims: true).shape, [1, 3, 4])
        let rows = Tensor(shape: [2, 3], data: [0.1, 0.7, -1, 5, 2, 9])
        XCTAssertEqual(rows.argmaxLastAxis(), [1, 2])
    }

    func testShapeOps() {
        let x = randn([2, 3, 4], &rng)
        let p = x.permuted([2, 0, 1])
        XCTAssertEqual(p.shape, [4, 2, 3])
        for i in 0..<p.count {
            let idx = multiIndex(i, p.shape)
            XCTAssertEqual(p.data[i], x.data[flatIndex([idx[1], idx[2], idx[0]], x.shape)])
        }
        XCTAssertEqual(x.transposedLast().shape, [2, 4, 3])
        XCTAssertEqual(x.reshaped([4, -1]).shape, [4, 6])
        XCTAssertEqual(x.reshaped([4, -1]).array, x.array)
        XCTAssertEqual(x.flattened().shape, [2, 12])

        let s = x.slice(axis: 1, 1..<3)
        XCTAssertEqual(s.shape, [2, 2, 4])
        for i in 0..<s.count {
            var idx = multiIndex(i, s.shape); idx[1] += 1
            XCTAssertEqual(s.data[i], x.data[flatIndex(idx, x.shape)])
        }

        let small = Tensor(shape: [2, 2], data: [1, 2, 3, 4])
        let padded = small.padded([(1, 0), (0, 2)], value: -1)
        XCTAssertEqual(padded.shape, [3, 4])
        XCTAssertEqual(padded.array, [-1, -1, -1, -1, 1, 2, -1, -1, 3, 4, -1, -1])

        let e = Tensor(shape: [3, 1], data: [1, 2, 3]).expanded(to: [2, 3, 2])
        XCTAssertEqual(e.array, [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3])

        let a = Tensor(shape: [2, 1], data: [1, 2]), b = Tensor(shape: [2, 2], data: [3, 4, 5, 6])
        XCTAssertEqual(concatenate([a, b], axis: 1).array, [1, 3, 4, 2, 5, 6])
        XCTAssertEqual(concatenate([b, b], axis: 0).shape, [4, 2])
        let st = stack([b, b * 2])
        XCTAssertEqual(st.shape, [2, 2, 2])
        XCTAssertEqual(st.array, [3, 4, 5, 6, 6, 8, 10, 12])
    }

    func testMatmulVariants() {
        func naive(_ a: [[Double]], _ b: [[Double]]) -> [Float] {
            a.flatMap { row in (0..<b[0].count).map { j in Float(zip(row, b).reduce(0) { $0 + $1.0 * $1.1[j] }) } }
        }
        func matrix(_ t: Tensor, offset: Int = 0, rows: Int, cols: Int, transposed: Bool) -> [[Double]] {
            let stored = (0..<rows).map { r in (0..<cols).map { c in Double(t.data[offset + r * cols + c]) } }
            return transposed ? (0..<cols).map { c in stored.map { $0[c] } } : stored
        }
        let (m, k, n) = (3, 4, 5)
        for ta in [false, true] {
            for tb in [false, true] {
                let a = randn(ta ? [k, m] : [m, k], &rng), b = randn(tb ? [n, k] : [k, n], &rng)
                let y = matmul(a, b, transposeA: ta, transposeB: tb)
                XCTAssertEqual(y.shape, [m, n])
                let expected = naive(matrix(a, rows: a.shape[0], cols: a.shape[1], transposed: ta),
                                     matrix(b, rows: b.shape[0], cols: b.shape[1], transposed: tb))
                assertClose(y.array, expected, rtol: 1e-5, atol: 1e-6, "matmul ta \(ta) tb \(tb)")

                let batch = 2
                let ba = randn(ta ? [batch, k, m] : [batch, m, k], &rng), bb = randn(tb ? [batch, n, k] : [batch, k, n], &rng)
                let by = matmul(ba, bb, transposeA: ta, transposeB: tb)
                XCTAssertEqual(by.shape, [batch, m, n])
                let bexpected = (0..<batch).flatMap { i in
                    naive(matrix(ba, offset: i * m * k, rows: ba.shape[1], cols: ba.shape[2], transposed: ta),
                          matrix(bb, offset: i * k * n, rows: bb.shape[1], cols: bb.shape[2], transposed: tb))
                }
                assertClose(by.array, bexpected, rtol: 1e-5, atol: 1e-6, "batched matmul ta \(ta) tb \(tb)")
            }
        }
        // Leading axes of a rank-3 `a` are flattened into rows against a 2-D `b`.
        let a3 = randn([2, 3, 4], &rng), w = randn([5, 4], &rng)
        let y3 = matmul(a3, w, transposeB: true)
        XCTAssertEqual(y3.shape, [2, 3, 5])
        assertClose(y3.array, matmul(a3.reshaped([6, 4]), w, transposeB: true).array, rtol: 1e-6, atol: 1e-7, "rank-3 × 2-D")
    }

    func testDropout() {
        let x = Tensor(repeating: 1, shape: [1000])
        var g1 = SeededGenerator(seed: 5), g2 = SeededGenerator(seed: 5)
        let y = dropout(x, p: 0.25, training: true, using: &g1)
        let zeros = y.array.filter { $0 == 0 }.count
        XCTAssertGreaterThan(zeros, 180)
        XCTAssertLessThan(zeros, 320)
        XCTAssertTrue(y.array.allSatisfy { $0 == 0 || Swift.abs($0 - 1 / 0.75) < 1e-6 })
        XCTAssertEqual(dropout(x, p: 0.25, training: true, using: &g2).array, y.array, "same seed, same mask")
        XCTAssertTrue(dropout(x, p: 0.25, training: false, using: &g1) === x, "evaluation mode is the identity")
    }

    func testEmbeddingAndMSE() {
        let w = randn([4, 3], &rng)
        let y = embedding(w, indices: [2, 0, 2], indexShape: [3])
        XCTAssertEqual(y.shape, [3, 3])
        XCTAssertEqual(Array(y.array[0..<3]), Array(w.array[6..<9]))
        XCTAssertEqual(Array(y.array[3..<6]), Array(w.array[0..<3]))
        let a = Tensor(shape: [2, 2], data: [1, 2, 3, 4]), b = Tensor(shape: [2, 2], data: [0, 2, 5, 1])
        XCTAssertEqual(mseLoss(a, b).item, (1 + 0 + 4 + 9) / 4, accuracy: 1e-6)
    }
}
