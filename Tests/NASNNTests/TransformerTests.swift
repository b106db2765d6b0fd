import Foundation
import NASNN
import NASTensor
import XCTest

/// PyTorch's outputs and gradients for a tiny ViT (`scripts/make_vit_fixtures.py`).
struct ViTFixtures: Decodable {
    struct Case: Decodable {
        let norm_first: Bool
        let weights: [String: [Float]]
        let shapes: [String: [Int]]
        let input: [Float], output: [Float], upstream: [Float], grad_input: [Float]
        let grads: [String: [Float]]
    }
    let cases: [Case]

    static func load() throws -> ViTFixtures {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "vit_fixtures", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(ViTFixtures.self, from: Data(contentsOf: url))
    }
}

final class TransformerTests: XCTestCase {
    func tinyConfig(normFirst: Bool) -> ViTConfig {
        var c = ViTConfig()
        (c.height, c.width, c.channels, c.classes) = (8, 8, 1, 3)
        (c.patch, c.dim, c.depth, c.heads, c.mlpRatio, c.normFirst) = (4, 8, 2, 2, 2, normFirst)
        return c
    }

    /// Pre-LN and Post-LN ViTs compute PyTorch's logits and gradients (nn.TransformerEncoderLayer).
    func testViTMatchesPyTorch() throws {
        for f in try ViTFixtures.load().cases {
            let name = f.norm_first ? "Pre-LN" : "Post-LN"
            var rng = SeededGenerator(seed: 0)
            let model = VisionTransformer(tinyConfig(normFirst: f.norm_first), using: &rng)
            var state: [String: Tensor] = [:]
            for (key, values) in f.weights { state[key] = Tensor(shape: f.shapes[key] ?? [], data: values) }
            try model.load(stateDict: state)
            let x = Tensor(shape: [2, 8, 8, 1], data: f.input, requiresGrad: true)
            let out = model(x)
            XCTAssertEqual(out.shape, [2, 3])
            assertClose(out.array, f.output, tolerance: 1e-4, "\(name) logits")
            (out * Tensor(shape: out.shape, data: f.upstream)).sum().backward()
            assertClose(x.grad?.array ?? [], f.grad_input, tolerance: 1e-4, "\(name) input gradient")
            let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters())
            for (key, expected) in f.grads.sorted(by: { $0.key < $1.key }) {
                XCTAssertNotNil(parameters[key], "\(name): no parameter \(key)")
                assertClose(parameters[key]?.grad?.array ?? [], expected, tolerance: 1e-4, "\(name) gradient of \(key)")
            }
        }
    }

    /// The two block orders differ where they should: Post-LN ends each block in a layer norm
    /// (zero mean, unit variance per token), Pre-LN does not and adds a final norm instead.
    /// Self-attention through the packed op equals the per-head route (slices, head permutes,
    /// batched matmuls): outputs and every gradient, with and without a mask.
    func testPackedSelfAttentionEqualsPerHeadRoute() {
        var rng = SeededGenerator(seed: 5)
        let attention = MultiHeadAttention(dim: 12, heads: 3, using: &rng)
        let mask = Tensor(shape: [5, 5], data: (0..<25).map { $0 % 5 > $0 / 5 ? -Float.infinity : 0 })
        for m in [nil, mask] {
            let x = Tensor.normal([2, 5, 12], using: &rng)
            func run(_ f: (Tensor) -> Tensor) -> [[Float]] {
                for p in attention.parameters() { p.grad = nil }
                let input = x.copy(); input.requiresGrad = true
                let y = f(input)
                var g = SeededGenerator(seed: 9)
                y.backward(Tensor.normal(y.shape, using: &g))
                return [y.array, input.grad?.array ?? []] + attention.parameters().map { $0.grad?.array ?? [] }
            }
            let packed = run { attention($0, mask: m) }
            let perHead = run { attention($0, key: $0, value: $0, mask: m) }   // key/value given: the per-head route
            for (i, (a, b)) in zip(packed, perHead).enumerated() {
                XCTAssertFalse(b.isEmpty, "gradient \(i)")
                assertClose(a, b, tolerance: 1e-5, "\(m == nil ? "no mask" : "mask"): tensor \(i)")
            }
        }
    }

    func testPreAndPostLNBlocks() {
        var rng = SeededGenerator(seed: 3)
        let x = Tensor.normal([2, 5, 8], std: 3, using: &rng)
        let post = TransformerBlock(dim: 8, heads: 2, normFirst: false, using: &rng)
        let y = post(x).array
        for token in 0..<10 {
            let row = Array(y[(token * 8)..<((token + 1) * 8)])
            let mean = row.reduce(0, +) / 8
            XCTAssertEqual(mean, 0, accuracy: 1e-4)
            XCTAssertEqual(row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 8, 1, accuracy: 1e-2)
        }
        let pre = VisionTransformer(tinyConfig(normFirst: true), using: &rng)
        XCTAssertNotNil(pre.norm)
        XCTAssertNil(VisionTransformer(tinyConfig(normFirst: false), using: &rng).norm)
    }

    /// A few Adam steps on one batch bring the loss down; the model zoo checks its settings.
    func testViTTrainsAndBadSettingsAreRefused() throws {
        var rng = SeededGenerator(seed: 4)
        let model = try ModelZoo.make("vit", height: 8, width: 8, channels: 1, classes: 3,
                                      parameters: ["patch": "4", "dim": "8", "depth": "2", "heads": "2"], seed: 1)
        let x = Tensor.normal([6, 8, 8, 1], using: &rng)
        let y = [0, 1, 2, 0, 1, 2]
        let optimizer = Adam(model.parameters(), lr: 0.01)
        let before = crossEntropy(model(x), targets: y).item
        for _ in 0..<20 {
            optimizer.zeroGrad()
            let loss = crossEntropy(model(x), targets: y)
            loss.backward()
            optimizer.step()
        }
        XCTAssertLessThan(crossEntropy(model(x), targets: y).item, before * 0.5)
        func refusal(_ parameters: [String: String], model name: String = "vit") -> String {
            do {
                _ = try ModelZoo.make(name, height: 28, width: 28, channels: 1, classes: 10, parameters: parameters, seed: 0)
                return "built"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(refusal(["patch": "5"]).contains("patch 5 does not divide"))
        XCTAssertTrue(refusal(["dim": "30", "heads": "4"]).contains("not divisible by heads"))
        XCTAssertTrue(refusal(["depth": "x"]).contains("depth must be an integer"))
        XCTAssertTrue(refusal(["norm": "middle"]).contains("pre or post"))
        XCTAssertTrue(refusal(["width": "3"]).contains("no parameter 'width'"))
        XCTAssertTrue(refusal(["depth": "0"]).contains("depth must be at least 1"))
        XCTAssertTrue(refusal(["depth": "2"], model: "cnn").contains("only vit takes --param"))
    }
}
