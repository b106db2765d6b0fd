import Foundation
import XCTest
import NASTensor

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

    func testWideGroupedAndPointwise() {
        check("1x1 24→36", x: [2, 4, 4, 24], w: [36, 1, 1, 24], Conv2dOptions(), seed: 6)
        check("depthwise 20", x: [2, 5, 5, 20], w: [20, 3, 3, 1], Conv2dOptions(stride: 2, padding: 1, groups: 20), seed: 7)
        check("groups 4 32→16", x: [1, 5, 5, 32], w: [16, 3, 3, 8], Conv2dOptions(padding: 1, groups: 4), seed: 8)
    }
}
