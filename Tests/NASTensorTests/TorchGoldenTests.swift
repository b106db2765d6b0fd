import Foundation
import XCTest
import NASTensor

/// Forward values and gradients compared with PyTorch 2.13 (fixtures from
/// `scripts/make_torch_fixtures.py`, already converted to channels-last layouts). Gradients are
/// those of `L = Σ output ⊙ R` for the stored `R`, i.e. `output.backward(R)`.
final class TorchGoldenTests: XCTestCase {
    private let rtol: Float = 1e-4
    private let atol: Float = 1e-5

    private func check(_ c: FixtureCase, _ actual: Tensor?, _ key: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        assertClose(actual, try c.tensor(key), rtol: rtol, atol: atol, "\(c.name) \(key)", file: file, line: line)
    }

    func testConv2d() throws {
        let cases = try loadFixture("conv2d")
        XCTAssertEqual(cases.count, 9)
        for c in cases {
            let x = try c.tensor("x", requiresGrad: true)
            let w = try c.tensor("weight", requiresGrad: true)
            let b = try c.tensor("bias", requiresGrad: true)
            let o = Conv2dOptions(stride: try c.int("stride"), padding: try c.int("padding"),
                                  dilation: try c.int("dilation"), groups: try c.int("groups"))
            let y = conv2d(x, w, bias: b, o)
            try check(c, y, "y")
            y.backward(try c.tensor("r"))
            try check(c, x.grad, "gx")
            try check(c, w.grad, "gweight")
            try check(c, b.grad, "gbias")
        }
    }

    func testConvTranspose2d() throws {
        let cases = try loadFixture("conv_transpose2d")
        XCTAssertEqual(cases.count, 5)
        for c in cases {
            let x = try c.tensor("x", requiresGrad: true)
            let w = try c.tensor("weight", requiresGrad: true)
            let b = try c.tensor("bias", requiresGrad: true)
            let o = Conv2dOptions(stride: try c.int("stride"), padding: try c.int("padding"),
                                  dilation: try c.int("dilation"), groups: try c.int("groups"))
            let op = try c.int("outputPadding")
            let y = convTranspose2d(x, w, bias: b, o, outputPadding: (op, op))
            try check(c, y, "y")
            y.backward(try c.tensor("r"))
            try check(c, x.grad, "gx")
            try check(c, w.grad, "gweight")
            try check(c, b.grad, "gbias")
        }
    }

    func testPooling() throws {
        let cases = try loadFixture("pooling")
        XCTAssertEqual(cases.count, 17)
        var kinds: [String: Int] = [:]
        for c in cases {
            let x = try c.tensor("x", requiresGrad: true)
            let y: Tensor
            let kind = try c.string("kind")
            kinds[kind, default: 0] += 1
            switch kind {
            case "max":
                y = maxPool2d(x, kernel: try c.int("kernel"), stride: try c.int("stride"), padding: try c.int("padding"))
            case "avg":
                y = avgPool2d(x, kernel: try c.int("kernel"), stride: try c.int("stride"), padding: try c.int("padding"),
                              countIncludePad: try c.bool("countIncludePad"))
            case "adaptive":
                y = adaptiveAvgPool2d(x, outputSize: (try c.int("outH"), try c.int("outW")))
            default:
                XCTFail("unknown pooling case \(c.name)"); continue
            }
            try check(c, y, "y")
            y.backward(try c.tensor("r"))
            try check(c, x.grad, "gx")
        }
        XCTAssertEqual(kinds, ["max": 4, "avg": 8, "adaptive": 5])
    }

    func testGlobalAvgPoolMatchesAdaptiveOneByOne() throws {
        let c = try loadFixture("pooling").first { $0.name == "adaptive_5x7_to_1x1" }!
        let x = try c.tensor("x", requiresGrad: true)
        let y = globalAvgPool2d(x)
        let expected = try c.tensor("y")
        assertClose(y.array, expected.array, rtol: rtol, atol: atol, "globalAvgPool2d")
        XCTAssertEqual(y.shape, [expected.shape[0], expected.shape[3]])
        y.backward(try c.tensor("r").reshaped(y.shape))
        try check(c, x.grad, "gx")
    }

    func testBatchNorm() throws {
        let cases = try loadFixture("batch_norm")
        XCTAssertEqual(cases.map(\.name), ["train", "eval", "train_2d"])
        for c in cases {
            let x = try c.tensor("x", requiresGrad: true)
            let w = try c.tensor("weight", requiresGrad: true)
            let b = try c.tensor("bias", requiresGrad: true)
            let runningMean = try c.tensor("runningMean"), runningVar = try c.tensor("runningVar")
            let y = batchNorm(x, weight: w, bias: b, runningMean: runningMean, runningVar: runningVar,
                              training: try c.bool("training"), momentum: try c.float("momentum"), eps: try c.float("eps"))
            try check(c, y, "y")
            try check(c, runningMean, "runningMeanAfter")
            try check(c, runningVar, "runningVarAfter")
            y.backward(try c.tensor("r"))
            try check(c, x.grad, "gx")
            try check(c, w.grad, "gweight")
            try check(c, b.grad, "gbias")
        }
    }

    func testLayerNorm() throws {
        let c = try XCTUnwrap(try loadFixture("layer_norm").first)
        let x = try c.tensor("x", requiresGrad: true)
        let w = try c.tensor("weight", requiresGrad: true)
        let b = try c.tensor("bias", requiresGrad: true)
        let y = layerNorm(x, weight: w, bias: b, eps: try c.float("eps"))
        try check(c, y, "y")
        y.backward(try c.tensor("r"))
        try check(c, x.grad, "gx")
        try check(c, w.grad, "gweight")
        try check(c, b.grad, "gbias")
    }

    func testSoftmaxAndLogSoftmax() throws {
        let cases = try loadFixture("softmax")
        XCTAssertEqual(cases.map(\.name), ["softmax", "log_softmax"])
        for c in cases {
            let x = try c.tensor("x", requiresGrad: true)
            let y = c.name == "softmax" ? softmax(x) : logSoftmax(x)
            try check(c, y, "y")
            y.backward(try c.tensor("r"))
            try check(c, x.grad, "gx")
        }
    }

    func testCrossEntropy() throws {
        let cases = try loadFixture("cross_entropy")
        XCTAssertEqual(cases.count, 2)
        for c in cases {
            let logits = try c.tensor("logits", requiresGrad: true)
            let loss = crossEntropy(logits, targets: try c.ints("targets"), labelSmoothing: try c.float("labelSmoothing"))
            XCTAssertEqual(loss.shape, [])
            assertClose([loss.item], try c.tensor("loss").array, rtol: rtol, atol: atol, "\(c.name) loss")
            loss.backward()
            try check(c, logits.grad, "glogits")
        }
    }

    func testGELU() throws {
        let c = try XCTUnwrap(try loadFixture("gelu").first)
        let x = try c.tensor("x", requiresGrad: true)
        let y = gelu(x)
        try check(c, y, "y")
        y.backward(try c.tensor("r"))
        try check(c, x.grad, "gx")
    }

    /// Multi-head self-attention assembled from engine primitives against
    /// `torch.nn.MultiheadAttention(batch_first=True)` with the same weights.
    func testMultiHeadAttentionFromPrimitives() throws {
        let c = try XCTUnwrap(try loadFixture("attention").first)
        let x = try c.tensor("x", requiresGrad: true)
        let inW = try c.tensor("inProjWeight", requiresGrad: true)     // [3E, E]
        let inB = try c.tensor("inProjBias", requiresGrad: true)       // [3E]
        let outW = try c.tensor("outProjWeight", requiresGrad: true)   // [E, E]
        let outB = try c.tensor("outProjBias", requiresGrad: true)     // [E]
        let heads = try c.int("heads")
        let (batch, length, e) = (x.shape[0], x.shape[1], x.shape[2])
        let d = e / heads

        func project(_ part: Int) -> Tensor {
            let w = inW.slice(axis: 0, (part * e)..<((part + 1) * e))
            let b = inB.slice(axis: 0, (part * e)..<((part + 1) * e))
            return matmul(x, w, transposeB: true) + b                   // [B, L, E]
        }
        func splitHeads(_ t: Tensor) -> Tensor {
            t.reshaped([batch, length, heads, d]).permuted([0, 2, 1, 3]).reshaped([batch * heads, length, d])
        }
        let q = splitHeads(project(0)), k = splitHeads(project(1)), v = splitHeads(project(2))
        let scores = matmul(q, k, transposeB: true) * (1 / Float(d).squareRoot())   // [B·H, L, L]
        let context = matmul(softmax(scores), v)                                     // [B·H, L, D]
        let merged = context.reshaped([batch, heads, length, d]).permuted([0, 2, 1, 3]).reshaped([batch, length, e])
        let y = matmul(merged, outW, transposeB: true) + outB

        try check(c, y, "y")
        y.backward(try c.tensor("r"))
        try check(c, x.grad, "gx")
        try check(c, inW.grad, "ginProjWeight")
        try check(c, inB.grad, "ginProjBias")
        try check(c, outW.grad, "goutProjWeight")
        try check(c, outB.grad, "goutProjBias")
    }
}
