import Foundation
import XCTest
@testable import NASTensor

/// Finite-difference checks of every differentiable op's backward (see `gradientMismatches`).
final class GradientCheckTests: XCTestCase {
    private var rng = SeededGenerator(seed: 1)

    override func setUp() {
        super.setUp()
        rng = SeededGenerator(seed: 20_240_601)
    }

    // MARK: Checker self-test

    /// An op whose backward is deliberately wrong must be reported; the same op with the right
    /// backward must pass. Guards against a checker that silently accepts anything.
    func testCheckerCatchesWrongBackward() {
        func cube(_ a: Tensor, wrong: Bool) -> Tensor {
            unaryKernel(a) { $0 * $0 * $0 }.recorded("cube", [a]) { g in
                [zipKernel(g, a) { gy, x in gy * (wrong ? 2 * x * x : 3 * x * x) }]
            }
        }
        let x = randn([2, 3], &rng)
        XCTAssertEqual(gradientMismatches([x]) { cube($0[0], wrong: false) }, [])
        XCTAssertFalse(gradientMismatches([x]) { cube($0[0], wrong: true) }.isEmpty)
        // A gradient that is off in a single element is caught too.
        let wrongOne = gradientMismatches([x]) { v in
            unaryKernel(v[0]) { $0 * $0 }.recorded("square", [v[0]]) { g in
                let t = zipKernel(g, v[0]) { gy, x in 2 * x * gy }
                t.data[4] += 0.05
                return [t]
            }
        }
        XCTAssertEqual(wrongOne.count, 1)
        // A missing gradient is reported.
        XCTAssertFalse(gradientMismatches([x]) { v in
            unaryKernel(v[0]) { $0 * 2 }.recorded("noGrad", [v[0]]) { _ in [nil] }
        }.isEmpty)
    }

    // MARK: Binary elementwise with broadcasting

    private let broadcastPairs: [([Int], [Int])] = [
        ([2, 3], [2, 3]),
        ([2, 3], [3]),
        ([3], [2, 3]),
        ([2, 1, 4], [3, 1]),
        ([2, 3, 4], [1, 3, 1]),
        ([4, 1], [1, 5]),
        ([2, 3], []),
        ([1], [2, 2]),
    ]

    func testAddBroadcast() {
        for (sa, sb) in broadcastPairs {
            assertGradients("add \(sa) \(sb)", [randn(sa, &rng), randn(sb, &rng)]) { add($0[0], $0[1]) }
            assertGradients("+ \(sa) \(sb)", [randn(sa, &rng), randn(sb, &rng)]) { $0[0] + $0[1] }
        }
    }

    func testSubBroadcast() {
        for (sa, sb) in broadcastPairs {
            assertGradients("sub \(sa) \(sb)", [randn(sa, &rng), randn(sb, &rng)]) { $0[0] - $0[1] }
        }
    }

    func testMulBroadcast() {
        for (sa, sb) in broadcastPairs {
            assertGradients("mul \(sa) \(sb)", [randn(sa, &rng), randn(sb, &rng)]) { $0[0] * $0[1] }
        }
    }

    func testDivBroadcast() {
        for (sa, sb) in broadcastPairs {
            assertGradients("div \(sa) \(sb)", [randn(sa, &rng), randSigned(sb, &rng, 0.7, 2)]) { $0[0] / $0[1] }
        }
    }

    func testMaximumBroadcast() {
        // b = a + offset with |offset| ≥ 0.1 keeps every pair away from the tie.
        let a = randn([2, 3], &rng)
        let b = a + randSigned([2, 3], &rng, 0.1, 1)
        assertGradients("maximum same shape", [a, b.detach()]) { maximum($0[0], $0[1]) }
        let c = awayFrom(randn([2, 3, 4], &rng), [-0.3, 0.2, 0.5], margin: 0.05)
        let d = Tensor(shape: [3, 1], data: [-0.3, 0.2, 0.5])
        assertGradients("maximum broadcast", [c, d]) { maximum($0[0], $0[1]) }
    }

    func testSameInputTwice() {
        // x used on both sides: gradients from both operands must accumulate.
        assertGradients("x*x + x/(x*x+1)", [randn([3, 2], &rng)]) { v in
            let x = v[0]
            return x * x + x / (x * x + 1)
        }
        assertGradients("diamond", [randn([2, 3], &rng)]) { v in
            let h = tanh(v[0])
            return exp(h) * h - sigmoid(h) + h.sum(axes: [1], keepDims: true) * v[0]
        }
    }

    // MARK: Scalar ops and unary ops

    func testScalarOps() {
        assertGradients("a + s", [randn([2, 3], &rng)]) { $0[0] + 1.5 }
        assertGradients("a - s", [randn([2, 3], &rng)]) { $0[0] - 0.25 }
        assertGradients("a * s", [randn([2, 3], &rng)]) { $0[0] * -1.7 }
        assertGradients("s * a", [randn([2, 3], &rng)]) { 3 * $0[0] }
        assertGradients("a / s", [randn([2, 3], &rng)]) { $0[0] / 4 }
        assertGradients("scale", [randn([2, 3], &rng)]) { scale($0[0], 0.3) }
        assertGradients("addScalar", [randn([2, 3], &rng)]) { addScalar($0[0], -2) }
        assertGradients("neg", [randn([2, 3], &rng)]) { neg($0[0]) }
        assertGradients("prefix -", [randn([2, 3], &rng)]) { -$0[0] }
    }

    func testExpLogSqrt() {
        assertGradients("exp", [randn([2, 4], &rng)]) { exp($0[0]) }
        assertGradients("log", [randu([2, 4], &rng, 0.5, 3)]) { log($0[0]) }
        assertGradients("sqrt", [randu([2, 4], &rng, 0.5, 3)]) { sqrt($0[0]) }
    }

    func testPow() {
        assertGradients("pow 3", [randn([2, 4], &rng)]) { pow($0[0], 3) }
        assertGradients("pow 2", [randn([2, 4], &rng)]) { pow($0[0], 2) }
        assertGradients("pow 0.5", [randu([2, 4], &rng, 0.5, 2)]) { pow($0[0], 0.5) }
        assertGradients("pow -1.5", [randu([2, 4], &rng, 0.5, 2)]) { pow($0[0], -1.5) }
    }

    func testPiecewise() {
        assertGradients("abs", [awayFrom(randn([3, 4], &rng), [0])]) { abs($0[0]) }
        assertGradients("relu", [awayFrom(randn([3, 4], &rng), [0])]) { relu($0[0]) }
        assertGradients("clamp", [awayFrom(randn([3, 4], &rng), [-0.5, 0.5])]) { clamp($0[0], min: -0.5, max: 0.5) }
    }

    func testSmoothActivations() {
        assertGradients("sigmoid", [randn([3, 4], &rng, std: 2)]) { sigmoid($0[0]) }
        assertGradients("tanh", [randn([3, 4], &rng)]) { tanh($0[0]) }
        assertGradients("silu", [randn([3, 4], &rng, std: 2)]) { silu($0[0]) }
        assertGradients("gelu", [randn([3, 4], &rng, std: 2)]) { gelu($0[0]) }
    }

    // MARK: Reductions

    func testSum() {
        assertGradients("sum all", [randn([2, 3, 4], &rng)]) { $0[0].sum() }
        assertGradients("sum axis 1", [randn([2, 3, 4], &rng)]) { $0[0].sum(axes: [1]) }
        assertGradients("sum axes 0,2 keepDims", [randn([2, 3, 4], &rng)]) { $0[0].sum(axes: [0, 2], keepDims: true) }
        assertGradients("sum axis -1", [randn([2, 3, 4], &rng)]) { $0[0].sum(axes: [-1]) }
        assertGradients("sum axes 0,1 keepDims", [randn([2, 3, 4], &rng)]) { $0[0].sum(axes: [0, 1], keepDims: true) }
    }

    func testMean() {
        assertGradients("mean all", [randn([2, 3, 4], &rng)]) { $0[0].mean() }
        assertGradients("mean axis 1", [randn([2, 3, 4], &rng)]) { $0[0].mean(axes: [1]) }
        assertGradients("mean axes 0,2 keepDims", [randn([2, 3, 4], &rng)]) { $0[0].mean(axes: [0, 2], keepDims: true) }
        assertGradients("mean axis -1 keepDims", [randn([2, 3, 4], &rng)]) { $0[0].mean(axes: [-1], keepDims: true) }
    }

    func testMaxAxis() {
        assertGradients("max axis 1", [distinct([2, 4, 3], &rng)]) { $0[0].max(axis: 1) }
        assertGradients("max axis -1 keepDims", [distinct([2, 4, 3], &rng)]) { $0[0].max(axis: -1, keepDims: true) }
        assertGradients("max axis 0", [distinct([3, 5], &rng)]) { $0[0].max(axis: 0) }
    }

    // MARK: Shape ops

    func testExpanded() {
        assertGradients("expand [3,1]→[2,3,4]", [randn([3, 1], &rng)]) { $0[0].expanded(to: [2, 3, 4]) }
        assertGradients("expand [1,4]→[3,4]", [randn([1, 4], &rng)]) { $0[0].expanded(to: [3, 4]) }
        assertGradients("expand [4]→[2,4]", [randn([4], &rng)]) { $0[0].expanded(to: [2, 4]) }
    }

    func testReshapeAndPermute() {
        // Multiplying by a constant after the view op makes the gradient position dependent.
        let w1 = randn([3, 4], &rng)
        assertGradients("reshaped", [randn([2, 6], &rng)]) { $0[0].reshaped([3, 4]) * w1 }
        assertGradients("reshaped -1", [randn([2, 6], &rng)]) { $0[0].reshaped([-1, 4]) * w1 }
        let w2 = randn([2, 12], &rng)
        assertGradients("flattened", [randn([2, 3, 2, 2], &rng)]) { $0[0].flattened() * w2 }
        assertGradients("permuted [2,0,1]", [randn([2, 3, 4], &rng)]) { $0[0].permuted([2, 0, 1]) }
        assertGradients("permuted [0,2,1,3]", [randn([2, 3, 2, 2], &rng)]) { $0[0].permuted([0, 2, 1, 3]) }
        assertGradients("transposedLast", [randn([2, 3, 4], &rng)]) { $0[0].transposedLast() }
    }

    func testSliceAndPad() {
        assertGradients("slice axis 1", [randn([2, 5, 3], &rng)]) { $0[0].slice(axis: 1, 1..<4) }
        assertGradients("slice axis 0", [randn([4, 3], &rng)]) { $0[0].slice(axis: 0, 2..<4) }
        assertGradients("slice axis -1", [randn([2, 3, 5], &rng)]) { $0[0].slice(axis: -1, 0..<2) }
        assertGradients("padded 2-D", [randn([2, 3], &rng)]) { $0[0].padded([(1, 0), (2, 1)], value: 0.5) }
        assertGradients("padded NHWC", [randn([1, 3, 3, 2], &rng)]) { $0[0].padded([(0, 0), (1, 1), (0, 2)]) }
    }

    func testConcatenateAndStack() {
        assertGradients("concatenate axis 1", [randn([2, 1, 3], &rng), randn([2, 3, 3], &rng), randn([2, 2, 3], &rng)]) {
            concatenate($0, axis: 1)
        }
        assertGradients("concatenate axis 0", [randn([1, 4], &rng), randn([2, 4], &rng)]) { concatenate($0, axis: 0) }
        assertGradients("concatenate axis -1", [randn([2, 2], &rng), randn([2, 3], &rng)]) { concatenate($0, axis: -1) }
        assertGradients("stack", [randn([2, 3], &rng), randn([2, 3], &rng), randn([2, 3], &rng)]) { stack($0) }
    }

    // MARK: Matrix products

    func testMatmul2D() {
        assertGradients("matmul", [randn([3, 4], &rng), randn([4, 5], &rng)]) { matmul($0[0], $0[1]) }
        assertGradients("matmul transposeB", [randn([3, 4], &rng), randn([5, 4], &rng)]) {
            matmul($0[0], $0[1], transposeB: true)
        }
        assertGradients("matmul transposeA", [randn([4, 3], &rng), randn([4, 5], &rng)]) {
            matmul($0[0], $0[1], transposeA: true)
        }
        assertGradients("matmul transposeA transposeB", [randn([4, 3], &rng), randn([5, 4], &rng)]) {
            matmul($0[0], $0[1], transposeA: true, transposeB: true)
        }
        assertGradients("matmul [2,3,4]×[4,5]", [randn([2, 3, 4], &rng), randn([4, 5], &rng)]) { matmul($0[0], $0[1]) }
        assertGradients("matmul [2,3,4]×[5,4]ᵀ", [randn([2, 3, 4], &rng), randn([5, 4], &rng)]) {
            matmul($0[0], $0[1], transposeB: true)
        }
    }

    func testLinear() {
        assertGradients("linear rank 3", [randn([2, 3, 4], &rng), randn([5, 4], &rng), randn([5], &rng)]) {
            linear($0[0], weight: $0[1], bias: $0[2])
        }
        assertGradients("linear rank 2", [randn([3, 4], &rng), randn([2, 4], &rng), randn([2], &rng)]) {
            linear($0[0], weight: $0[1], bias: $0[2])
        }
    }

    func testPackedSelfAttention() {
        // [B=2, T=3, 3·D] with D = 2 heads · 2: scores, softmax, values and the packed layout.
        assertGradients("packed self-attention", [randn([2, 3, 12], &rng)]) { packedSelfAttention($0[0], heads: 2) }
        let mask = Tensor(shape: [3, 3], data: [0, -.infinity, -.infinity, 0, 0, -.infinity, 0, 0, 0])
        assertGradients("packed self-attention, causal mask", [randn([2, 3, 12], &rng)]) {
            packedSelfAttention($0[0], heads: 2, mask: mask)
        }
        assertGradients("packed self-attention, one head", [randn([1, 4, 9], &rng)]) { packedSelfAttention($0[0], heads: 1) }
    }

    func testMatmulBatched() {
        assertGradients("bmm", [randn([2, 3, 4], &rng), randn([2, 4, 5], &rng)]) { matmul($0[0], $0[1]) }
        assertGradients("bmm transposeB", [randn([2, 3, 4], &rng), randn([2, 5, 4], &rng)]) {
            matmul($0[0], $0[1], transposeB: true)
        }
        assertGradients("bmm transposeA", [randn([2, 4, 3], &rng), randn([2, 4, 5], &rng)]) {
            matmul($0[0], $0[1], transposeA: true)
        }
        assertGradients("bmm transposeA transposeB", [randn([3, 4, 3], &rng), randn([3, 5, 4], &rng)]) {
            matmul($0[0], $0[1], transposeA: true, transposeB: true)
        }
    }

    // MARK: Convolutions

    private func checkConv(_ name: String, x: [Int], w: [Int], bias: Bool, _ o: Conv2dOptions) {
        var inputs = [randn(x, &rng), randn(w, &rng, std: 0.5)]
        if bias { inputs.append(randn([w[0]], &rng)) }
        // A convolution is linear in each element, so a large step costs no truncation error and
        // keeps float32 rounding (larger through Winograd's transforms) out of the difference.
        assertGradients("conv2d \(name)", inputs, step: 0.5) { v in
            conv2d(v[0], v[1], bias: v.count > 2 ? v[2] : nil, o)
        }
    }

    func testConv2dPlainAndStrided() {
        checkConv("plain", x: [2, 5, 4, 3], w: [2, 3, 3, 3], bias: false, Conv2dOptions())
        checkConv("bias", x: [1, 4, 4, 2], w: [3, 3, 3, 2], bias: true, Conv2dOptions())
        checkConv("stride 2 padding 1", x: [2, 5, 5, 2], w: [3, 3, 3, 2], bias: true, Conv2dOptions(stride: 2, padding: 1))
        checkConv("dilation 2", x: [1, 6, 6, 2], w: [2, 3, 3, 2], bias: false, Conv2dOptions(padding: 1, dilation: 2))
        checkConv("asymmetric", x: [1, 5, 6, 2], w: [2, 3, 2, 2], bias: true,
                  Conv2dOptions(stride: (2, 1), padding: (1, 0), dilation: (1, 2)))
        // The weight-gradient kernel's tiles: 1, 4 and 8 input channels, and 16 + 1.
        checkConv("one input channel", x: [2, 5, 5, 1], w: [3, 3, 3, 1], bias: true, Conv2dOptions(padding: 1))
        checkConv("four input channels", x: [1, 4, 5, 4], w: [2, 3, 3, 4], bias: false, Conv2dOptions(padding: 1))
        checkConv("six input channels", x: [1, 4, 4, 6], w: [2, 3, 3, 6], bias: false, Conv2dOptions(padding: 1))
        checkConv("seventeen input channels", x: [1, 3, 3, 17], w: [2, 3, 3, 17], bias: false, Conv2dOptions(padding: 1))
    }

    func testConv2dGrouped() {
        checkConv("groups 2", x: [2, 4, 4, 4], w: [4, 3, 3, 2], bias: true, Conv2dOptions(padding: 1, groups: 2))
        checkConv("depthwise", x: [2, 4, 4, 3], w: [3, 3, 3, 1], bias: true, Conv2dOptions(padding: 1, groups: 3))
        checkConv("depthwise stride 2 dilation 2", x: [1, 6, 6, 2], w: [2, 3, 3, 1], bias: false,
                  Conv2dOptions(stride: 2, padding: 2, dilation: 2, groups: 2))
        checkConv("channel multiplier 2", x: [1, 4, 4, 2], w: [4, 3, 3, 1], bias: false, Conv2dOptions(padding: 1, groups: 2))
    }

    func testConv2dPointwise() {
        checkConv("1x1", x: [2, 3, 3, 4], w: [3, 1, 1, 4], bias: true, Conv2dOptions())
        checkConv("1x1 stride 2", x: [1, 4, 4, 3], w: [2, 1, 1, 3], bias: false, Conv2dOptions(stride: 2))
        checkConv("1x1 groups 2", x: [1, 3, 3, 4], w: [4, 1, 1, 2], bias: false, Conv2dOptions(groups: 2))
    }

    /// The fused ReLU-conv equals conv(relu(x)) in value and in both gradients, on the direct
    /// kernels' shapes (padded, pointwise, strided, channel counts off multiples of 16) and on the
    /// fallback (more output channels than the direct kernels take).
    func testReLUConv2dMatchesReLUThenConv() throws {
        let cases: [(String, [Int], [Int], Conv2dOptions, Bool)] = [
            ("3x3 padding 1, 16 channels", [3, 6, 5, 16], [16, 3, 3, 16], Conv2dOptions(padding: 1), false),
            ("3x3 padding 1, bias", [2, 5, 5, 3], [16, 3, 3, 3], Conv2dOptions(padding: 1), true),
            ("1x1, 16 channels", [2, 4, 4, 16], [16, 1, 1, 16], Conv2dOptions(), false),
            ("1x1, 5 to 7 channels, bias", [2, 4, 3, 5], [7, 1, 1, 5], Conv2dOptions(), true),
            ("3x3 stride 2 padding 1", [2, 7, 6, 3], [20, 3, 3, 3], Conv2dOptions(stride: 2, padding: 1), false),
            ("fallback: 130 output channels", [1, 4, 4, 4], [130, 3, 3, 4], Conv2dOptions(padding: 1), true),
        ]
        for (name, xs, ws, o, hasBias) in cases {
            let x = randn(xs, &rng), w = randn(ws, &rng, std: 0.3), b = randn([ws[0]], &rng)
            let fx = x.copy(), fw = w.copy(), fb = b.copy(), rx = x.copy(), rw = w.copy(), rb = b.copy()
            [fx, fw, fb, rx, rw, rb].forEach { $0.requiresGrad = true }
            let (fused, sums) = reluConv2dWithChannelSums(fx, fw, bias: hasBias ? fb : nil, o)
            let reference = conv2d(relu(rx), rw, bias: hasBias ? rb : nil, o)
            assertClose(fused, reference, rtol: 1e-5, atol: 1e-6, "\(name): forward")
            if let sums {
                // The per-channel sums and sums of squares of the output, as batch norm takes them.
                let c = ws[0], rows = reference.count / c
                var expected = [Double](repeating: 0, count: 2 * c)
                for r in 0..<rows { for k in 0..<c {
                    let v = Double(reference.data[r * c + k])
                    expected[k] += v; expected[c + k] += v * v
                }}
                for k in 0..<(2 * c) {
                    XCTAssertEqual(sums[k], expected[k], accuracy: 1e-4 * max(1, abs(expected[k])), "\(name): channel sum \(k)")
                }
            }
            let r = randn(reference.shape, &rng)
            fused.backward(r)
            reference.backward(r)
            assertClose(fx.grad, try XCTUnwrap(rx.grad), rtol: 1e-5, atol: 1e-6, "\(name): input gradient")
            assertClose(fw.grad, try XCTUnwrap(rw.grad), rtol: 1e-5, atol: 1e-6, "\(name): weight gradient")
            if hasBias { assertClose(fb.grad, try XCTUnwrap(rb.grad), rtol: 1e-5, atol: 1e-6, "\(name): bias gradient") }
        }
        // Against finite differences, with inputs kept away from ReLU's kink.
        let x = randn([2, 5, 4, 3], &rng)
        for i in 0..<x.count where abs(x.data[i]) < 0.1 { x.data[i] += x.data[i] < 0 ? -0.1 : 0.1 }
        assertGradients("reluConv2d", [x, randn([4, 3, 3, 3], &rng, std: 0.5)]) { reluConv2d($0[0], $0[1], Conv2dOptions(padding: 1)) }
    }

    func testConv2dPartialRequiresGrad() throws {
        // Only the weight (or only the input) needs a gradient: the other branch must be skipped
        // without disturbing the one that is computed.
        let x = randn([2, 4, 4, 2], &rng), w = randn([3, 3, 3, 2], &rng), b = randn([3], &rng)
        let r = randn([2, 4, 4, 3], &rng)
        let full = [x, w, b].map { $0.copy() }
        full.forEach { $0.requiresGrad = true }
        conv2d(full[0], full[1], bias: full[2], Conv2dOptions(padding: 1)).backward(r)
        let onlyW = w.copy(); onlyW.requiresGrad = true
        conv2d(x, onlyW, bias: b, Conv2dOptions(padding: 1)).backward(r)
        assertClose(onlyW.grad, try XCTUnwrap(full[1].grad), rtol: 1e-5, atol: 1e-6, "weight grad without input grad")
        let onlyX = x.copy(); onlyX.requiresGrad = true
        conv2d(onlyX, w, Conv2dOptions(padding: 1)).backward(r)
        assertClose(onlyX.grad, try XCTUnwrap(full[0].grad), rtol: 1e-5, atol: 1e-6, "input grad without weight grad")
    }

    private func checkConvTranspose(_ name: String, x: [Int], w: [Int], groups: Int = 1, bias: Bool,
                                    _ o: Conv2dOptions, outputPadding: (Int, Int) = (0, 0)) {
        var inputs = [randn(x, &rng), randn(w, &rng, std: 0.5)]
        if bias { inputs.append(randn([w[3] * groups], &rng)) }
        assertGradients("convTranspose2d \(name)", inputs) { v in
            convTranspose2d(v[0], v[1], bias: v.count > 2 ? v[2] : nil, o, outputPadding: outputPadding)
        }
    }

    func testConvTranspose2d() {
        checkConvTranspose("plain", x: [2, 3, 3, 2], w: [2, 3, 3, 3], bias: true, Conv2dOptions())
        checkConvTranspose("stride 2 padding 1 output padding 1", x: [1, 3, 3, 2], w: [2, 3, 3, 2], bias: true,
                           Conv2dOptions(stride: 2, padding: 1), outputPadding: (1, 1))
        checkConvTranspose("groups 2 stride 2", x: [1, 3, 3, 4], w: [4, 3, 3, 1], groups: 2, bias: true,
                           Conv2dOptions(stride: 2, groups: 2))
        checkConvTranspose("dilation 2 output padding (1,0)", x: [1, 3, 2, 2], w: [2, 2, 2, 2], bias: false,
                           Conv2dOptions(stride: 2, padding: 1, dilation: 2), outputPadding: (1, 0))
    }

    // MARK: Pooling

    func testMaxPool2d() {
        assertGradients("maxPool k2", [distinct([2, 4, 4, 2], &rng)]) { maxPool2d($0[0], kernel: 2) }
        assertGradients("maxPool k3 s2 p1", [distinct([1, 5, 6, 2], &rng)]) { maxPool2d($0[0], kernel: 3, stride: 2, padding: 1) }
        assertGradients("maxPool k3 s1 p1", [distinct([1, 4, 4, 2], &rng)]) { maxPool2d($0[0], kernel: 3, stride: 1, padding: 1) }
    }

    func testAvgPool2d() {
        for include in [true, false] {
            assertGradients("avgPool k3 s1 p1 include \(include)", [randn([1, 4, 5, 2], &rng)]) {
                avgPool2d($0[0], kernel: 3, stride: 1, padding: 1, countIncludePad: include)
            }
            assertGradients("avgPool k3 s2 p1 include \(include)", [randn([2, 5, 5, 2], &rng)]) {
                avgPool2d($0[0], kernel: 3, stride: 2, padding: 1, countIncludePad: include)
            }
            assertGradients("avgPool k2 s2 p1 include \(include)", [randn([1, 5, 4, 2], &rng)]) {
                avgPool2d($0[0], kernel: 2, stride: 2, padding: 1, countIncludePad: include)
            }
        }
        assertGradients("avgPool k2", [randn([2, 4, 4, 2], &rng)]) { avgPool2d($0[0], kernel: 2) }
    }

    func testAdaptiveAndGlobalAvgPool() {
        assertGradients("adaptive 7x5→3x2", [randn([1, 7, 5, 2], &rng)]) { adaptiveAvgPool2d($0[0], outputSize: (3, 2)) }
        assertGradients("adaptive 5x5→2x3", [randn([2, 5, 5, 1], &rng)]) { adaptiveAvgPool2d($0[0], outputSize: (2, 3)) }
        assertGradients("adaptive →1x1", [randn([2, 3, 3, 2], &rng)]) { adaptiveAvgPool2d($0[0], outputSize: (1, 1)) }
        assertGradients("globalAvgPool", [randn([2, 3, 4, 3], &rng)]) { globalAvgPool2d($0[0]) }
    }

    // MARK: Normalisation

    func testBatchNormTraining() {
        assertGradients("batchNorm training affine", [randn([2, 3, 2, 3], &rng, mean: 0.5, std: 2), randn([3], &rng), randn([3], &rng)]) { v in
            batchNorm(v[0], weight: v[1], bias: v[2], runningMean: Tensor(zeros: [3]), runningVar: Tensor(repeating: 1, shape: [3]),
                      training: true)
        }
        assertGradients("batchNorm training no affine", [randn([4, 3], &rng, std: 2)]) { v in
            batchNorm(v[0], weight: nil, bias: nil, runningMean: nil, runningVar: nil, training: true)
        }
    }

    func testBatchNormEval() {
        let mean = randn([3], &rng, std: 0.3), variance = randu([3], &rng, 0.5, 1.5)
        assertGradients("batchNorm eval affine", [randn([2, 2, 2, 3], &rng), randn([3], &rng), randn([3], &rng)]) { v in
            batchNorm(v[0], weight: v[1], bias: v[2], runningMean: mean, runningVar: variance, training: false)
        }
        assertGradients("batchNorm eval no affine", [randn([3, 3], &rng)]) { v in
            batchNorm(v[0], weight: nil, bias: nil, runningMean: mean, runningVar: variance, training: false)
        }
    }

    func testLayerNorm() {
        assertGradients("layerNorm affine", [randn([2, 3, 5], &rng, mean: 0.3, std: 1.5), randn([5], &rng), randn([5], &rng)]) { v in
            layerNorm(v[0], weight: v[1], bias: v[2])
        }
        assertGradients("layerNorm no affine", [randn([3, 6], &rng)]) { layerNorm($0[0], weight: nil, bias: nil) }
    }

    // MARK: Softmax and losses

    func testSoftmax() {
        assertGradients("softmax", [randn([3, 5], &rng, std: 2)]) { softmax($0[0]) }
        assertGradients("softmax rank 3", [randn([2, 2, 4], &rng)]) { softmax($0[0]) }
        assertGradients("softmax scaled", [randn([3, 5], &rng, std: 2)]) { softmax($0[0], scale: 0.35) }
        assertGradients("softmax negative scale", [randn([2, 4], &rng)]) { softmax($0[0], scale: -1.5) }
        assertGradients("logSoftmax", [randn([3, 5], &rng, std: 2)]) { logSoftmax($0[0]) }
        assertGradients("logSoftmax rank 3", [randn([2, 2, 4], &rng)]) { logSoftmax($0[0]) }
    }

    func testSegmentationLosses() {
        let targets = Tensor(shape: [2, 3], data: [1, 0, 1, 0, 0, 1])
        assertGradients("binaryCrossEntropyWithLogits", [randn([2, 3], &rng, std: 2)]) {
            binaryCrossEntropyWithLogits($0[0], targets)
        }
        assertGradients("softDiceLoss", [randn([2, 3], &rng, std: 2)]) { softDiceLoss($0[0], targets) }
        // Values against the definitions.
        let x = Tensor(shape: [2, 3], data: [0.5, -1, 2, -3, 0, 40])
        let bce = zip(x.array, targets.array).map { v, t -> Double in
            // −log σ(v) for t = 1, −log(1 − σ(v)) for t = 0, in Float64
            t == 1 ? Foundation.log1p(Foundation.exp(-Double(v))) : Foundation.log1p(Foundation.exp(Double(v)))
        }.reduce(0, +) / 6
        XCTAssertEqual(Double(binaryCrossEntropyWithLogits(x, targets).item), bce, accuracy: 1e-6)
        let p: [Double] = x.array.map { 1 / (1 + Foundation.exp(-Double($0))) }
        let overlap: Double = zip(p, targets.array).map { $0 * Double($1) }.reduce(0, +)
        let dice: Double = 1 - (2 * overlap + 1) / (p.reduce(0, +) + 3 + 1)
        XCTAssertEqual(Double(softDiceLoss(x, targets).item), dice, accuracy: 1e-6)
    }

    func testCrossEntropy() {
        assertGradients("crossEntropy", [randn([4, 5], &rng, std: 2)]) { crossEntropy($0[0], targets: [0, 4, 2, 2]) }
        assertGradients("crossEntropy label smoothing 0.1", [randn([4, 5], &rng, std: 2)]) {
            crossEntropy($0[0], targets: [1, 3, 0, 3], labelSmoothing: 0.1)
        }
    }

    func testMSELoss() {
        assertGradients("mseLoss", [randn([3, 4], &rng), randn([3, 4], &rng)]) { mseLoss($0[0], $0[1]) }
    }

    // MARK: Sampling

    func testDropoutWithFixedMask() {
        assertGradients("dropout p=0.3", [randn([4, 5], &rng)]) { v in
            var g = SeededGenerator(seed: 99)
            return dropout(v[0], p: 0.3, training: true, using: &g)
        }
    }

    func testEmbedding() {
        // Index 1 repeats: its rows' gradients must accumulate.
        assertGradients("embedding", [randn([5, 3], &rng)]) { v in
            embedding(v[0], indices: [1, 3, 1, 4, 0, 1], indexShape: [2, 3])
        }
    }
}

/// The depthwise 1-D convolution of GLiT's locality module against finite differences, at
/// kernels shorter and longer than the sequence, and against its definition.
final class DepthwiseConvolution1dTests: XCTestCase {
    func testGradientsMatchFiniteDifferences() {
        var rng = SeededGenerator(seed: 31)
        for (t, k) in [(5, 3), (4, 1), (3, 7)] {
            assertGradients("depthwiseConv1d T=\(t) K=\(k)", [randn([2, t, 3], &rng), randn([3, k], &rng)]) {
                depthwiseConv1d($0[0], $0[1])
            }
        }
    }

    func testMatchesTheDefinition() {
        var rng = SeededGenerator(seed: 32)
        let x = randn([2, 6, 4], &rng), w = randn([4, 5], &rng)
        let y = depthwiseConv1d(x, w)
        for b in 0..<2 { for t in 0..<6 { for c in 0..<4 {
            var s: Float = 0
            for j in 0..<5 where (0..<6).contains(t + j - 2) { s += w[flat: c * 5 + j] * x[flat: (b * 6 + t + j - 2) * 4 + c] }
            XCTAssertEqual(y[flat: (b * 6 + t) * 4 + c], s, accuracy: 1e-5)
        }}}
    }
}
