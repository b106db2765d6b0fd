import Foundation
import XCTest
@testable import NASTensor

/// conv2d forward and backward against a naive Float64 loop, at channel counts larger than the
/// PyTorch fixtures use (several channel blocks, so every kernel's blocking/padding is exercised).
final class ConvolutionReferenceTests: XCTestCase {
    private struct Reference {
        var y: [Float], gx: [Float], gw: [Float], gb: [Float]
    }

    /// Direct evaluation of the definition (channels-last, weight [Cout, KH, KW, Cin/g]).
    private func reference(x: Tensor, w: Tensor, b: Tensor, r: Tensor, _ o: Conv2dOptions, oh: Int, ow: Int) -> Reference {
        let (n, h, wd, cin) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, kh, kw, cg) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let coutg = cout / o.groups
        var y = [Double](repeating: 0, count: n * oh * ow * cout)
        var gx = [Double](repeating: 0, count: x.count), gw = [Double](repeating: 0, count: w.count)
        var gb = [Double](repeating: 0, count: cout)
        for img in 0..<n { for i in 0..<oh { for j in 0..<ow { for co in 0..<cout {
            let outIndex = ((img * oh + i) * ow + j) * cout + co
            let g = Double(r.data[outIndex])
            var s = Double(b.data[co])
            gb[co] += g
            let group = co / coutg
            for a in 0..<kh {
                let hi = i * o.stride.0 - o.padding.0 + a * o.dilation.0
                if hi < 0 || hi >= h { continue }
                for c in 0..<kw {
                    let wi = j * o.stride.1 - o.padding.1 + c * o.dilation.1
                    if wi < 0 || wi >= wd { continue }
                    for ci in 0..<cg {
                        let xIndex = ((img * h + hi) * wd + wi) * cin + group * cg + ci
                        let wIndex = ((co * kh + a) * kw + c) * cg + ci
                        s += Double(x.data[xIndex]) * Double(w.data[wIndex])
                        gx[xIndex] += g * Double(w.data[wIndex])
                        gw[wIndex] += g * Double(x.data[xIndex])
                    }
                }
            }
            y[outIndex] = s
        }}}}
        return Reference(y: y.map(Float.init), gx: gx.map(Float.init), gw: gw.map(Float.init), gb: gb.map(Float.init))
    }

    private func check(_ name: String, x xs: [Int], w ws: [Int], _ o: Conv2dOptions, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let x = Tensor.normal(xs, using: &rng, requiresGrad: true)
        let w = Tensor.normal(ws, std: 0.3, using: &rng, requiresGrad: true)
        let b = Tensor.normal([ws[0]], using: &rng, requiresGrad: true)
        let y = conv2d(x, w, bias: b, o)
        let r = Tensor.normal(y.shape, using: &rng)
        y.backward(r)
        let ref = reference(x: x, w: w, b: b, r: r, o, oh: y.shape[1], ow: y.shape[2])
        assertClose(y.array, ref.y, rtol: 1e-4, atol: 1e-5, "\(name) output")
        assertClose(x.grad?.array ?? [], ref.gx, rtol: 1e-4, atol: 1e-5, "\(name) input gradient")
        assertClose(w.grad?.array ?? [], ref.gw, rtol: 1e-4, atol: 1e-5, "\(name) weight gradient")
        assertClose(b.grad?.array ?? [], ref.gb, rtol: 1e-4, atol: 1e-5, "\(name) bias gradient")
    }

    func testWideChannels() {
        check("3x3 17→18", x: [2, 5, 5, 17], w: [18, 3, 3, 17], Conv2dOptions(padding: 1), seed: 1)
        check("3x3 stride 2 33→20", x: [2, 6, 5, 33], w: [20, 3, 3, 33], Conv2dOptions(stride: 2, padding: 1), seed: 2)
        check("3x3 dilation 2 16→32", x: [1, 7, 7, 16], w: [32, 3, 3, 16], Conv2dOptions(padding: 2, dilation: 2), seed: 3)
        check("5x5 no padding 8→40", x: [3, 6, 6, 8], w: [40, 5, 5, 8], Conv2dOptions(), seed: 4)
        check("1x3 asymmetric 19→5", x: [2, 4, 6, 19], w: [5, 1, 3, 19], Conv2dOptions(stride: (1, 2), padding: (0, 1)), seed: 5)
    }

    /// 3×3 stride-1 convolutions from 8 input channels on run as Winograd F(4×4, 3×3) (forward and
    /// input gradient) and F(3×3, 4×4) (weight gradient): map sizes off multiples of 4 (partial
    /// tiles), channel counts off multiples of 16, several channel blocks, no padding and padding 2.
    func testWinogradShapes() {
        check("winograd 16→32, 7×9", x: [2, 7, 9, 16], w: [32, 3, 3, 16], Conv2dOptions(padding: 1), seed: 9)
        check("winograd 64→64, 8×8", x: [1, 8, 8, 64], w: [64, 3, 3, 64], Conv2dOptions(padding: 1), seed: 10)
        check("winograd 8→5, no padding", x: [2, 6, 7, 8], w: [5, 3, 3, 8], Conv2dOptions(), seed: 11)
        check("winograd 33→20, padding 2", x: [1, 5, 6, 33], w: [20, 3, 3, 33], Conv2dOptions(padding: 2), seed: 12)
        check("winograd 16→16, 13×10", x: [1, 13, 10, 16], w: [16, 3, 3, 16], Conv2dOptions(padding: 1), seed: 15)
        // No padding and a multiple of 16 channels: the forward pass reads the input in place.
        check("winograd 16→16 in place, 7×6", x: [1, 7, 6, 16], w: [16, 3, 3, 16], Conv2dOptions(), seed: 16)
    }

    /// The fused ReLU-conv on the Winograd path: output, batch-norm channel sums and gradients
    /// against the definition applied to relu(x) (the input gradient is zero where x ≤ 0).
    func testReLUConvWinogradAgainstDefinition() throws {
        var rng = SeededGenerator(seed: 13)
        let o = Conv2dOptions(padding: 1)
        let x = Tensor.normal([2, 9, 7, 16], using: &rng, requiresGrad: true)
        let w = Tensor.normal([24, 3, 3, 16], std: 0.3, using: &rng, requiresGrad: true)
        let b = Tensor.normal([24], using: &rng, requiresGrad: true)
        let (y, sums) = reluConv2dWithChannelSums(x, w, bias: b, o)
        let r = Tensor.normal(y.shape, using: &rng)
        y.backward(r)
        let rx = Tensor(shape: x.shape, data: x.array.map { max($0, 0) })
        let ref = reference(x: rx, w: w, b: b, r: r, o, oh: y.shape[1], ow: y.shape[2])
        assertClose(y.array, ref.y, rtol: 1e-4, atol: 1e-5, "output")
        let maskedGx = zip(ref.gx, x.array).map { $1 > 0 ? $0 : 0 }
        assertClose(x.grad?.array ?? [], maskedGx, rtol: 1e-4, atol: 1e-5, "input gradient")
        assertClose(w.grad?.array ?? [], ref.gw, rtol: 1e-4, atol: 1e-5, "weight gradient")
        let channelSums = try XCTUnwrap(sums)
        for c in 0..<24 {
            let values = stride(from: c, to: ref.y.count, by: 24).map { Double(ref.y[$0]) }
            XCTAssertEqual(channelSums[c], values.reduce(0, +), accuracy: 1e-3, "sum of channel \(c)")
            XCTAssertEqual(channelSums[24 + c], values.reduce(0) { $0 + $1 * $1 }, accuracy: 1e-3 * max(1, channelSums[24 + c]),
                           "sum of squares of channel \(c)")
        }
    }

    /// Winograd reorders and rescales float32 arithmetic: a short training run (conv → batch
    /// norm → ReLU ×3, global pooling, linear, SGD) gives the same losses with the direct kernels
    /// to within 1e-4 relative (measured: docs/engine.md).
    func testWinogradTrainingMatchesDirect() {
        func losses() -> [Float] {
            var rng = SeededGenerator(seed: 14)
            let x = Tensor.normal([16, 12, 12, 3], using: &rng)
            let targets = (0..<16).map { $0 % 10 }
            let stem = Tensor.normal([16, 3, 3, 3], std: 0.3, using: &rng, requiresGrad: true)
            let convs = (0..<3).map { _ in Tensor.normal([16, 3, 3, 16], std: 0.15, using: &rng, requiresGrad: true) }
            let head = Tensor.normal([10, 16], std: 0.3, using: &rng, requiresGrad: true)
            let params = [stem, head] + convs
            var out: [Float] = []
            for _ in 0..<6 {
                var h = conv2d(x, stem, Conv2dOptions(padding: 1))
                for w in convs {
                    h = batchNorm(reluConv2d(h, w, Conv2dOptions(padding: 1)), weight: nil, bias: nil,
                                  runningMean: nil, runningVar: nil, training: true)
                }
                let loss = crossEntropy(linear(globalAvgPool2d(h), weight: head, bias: nil), targets: targets)
                out.append(loss.item)
                params.forEach { $0.grad = nil }
                loss.backward()
                for p in params { if let g = p.grad { for i in 0..<p.count { p.data[i] -= 0.1 * g.data[i] } } }
            }
            return out
        }
        let saved = DirectConvolution.winogradEnabled
        defer { DirectConvolution.winogradEnabled = saved }
        DirectConvolution.winogradEnabled = true
        let winograd = losses()
        DirectConvolution.winogradEnabled = false
        let direct = losses()
        XCTAssertLessThan(winograd.last ?? 0, winograd.first ?? 0, "the loss falls")
        assertClose(winograd, direct, rtol: 1e-4, atol: 1e-6, "losses, Winograd against direct")
    }

    func testWideGroupedAndPointwise() {
        check("1x1 24→36", x: [2, 4, 4, 24], w: [36, 1, 1, 24], Conv2dOptions(), seed: 6)
        check("depthwise 20", x: [2, 5, 5, 20], w: [20, 3, 3, 1], Conv2dOptions(stride: 2, padding: 1, groups: 20), seed: 7)
        check("groups 4 32→16", x: [1, 5, 5, 32], w: [16, 3, 3, 8], Conv2dOptions(padding: 1, groups: 4), seed: 8)
    }
}
