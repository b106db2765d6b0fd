import Foundation
import NASNN
import NASTensor
import XCTest

/// PyTorch's outputs, gradients and running statistics for GLiT's locality module
/// (`scripts/make_locality_fixtures.py`).
struct LocalityFixtures: Decodable {
    struct Case: Decodable {
        let training: Bool
        let weights: [String: [Float]]
        let shapes: [String: [Int]]
        let input: [Float], output: [Float], upstream: [Float], grad_input: [Float]
        let grads: [String: [Float]]
        let running_after: [String: [Float]]
    }
    let dim: Int, hidden: Int, outputs: Int, kernel: Int, batch: Int, tokens: Int
    let cases: [Case]

    static func load() throws -> LocalityFixtures {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "locality_fixtures", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(LocalityFixtures.self, from: Data(contentsOf: url))
    }
}

final class LocalityModuleTests: XCTestCase {
    /// Training mode (batch statistics, running statistics updated) and evaluation mode.
    func testLocalityModuleMatchesPyTorch() throws {
        let f = try LocalityFixtures.load()
        for c in f.cases {
            let name = c.training ? "training" : "evaluation"
            var rng = SeededGenerator(seed: 0)
            let m = LocalityModule(dim: f.dim, hidden: f.hidden, outputs: f.outputs, kernel: f.kernel, using: &rng)
            var state: [String: Tensor] = [:]
            for (key, values) in c.weights { state[key] = Tensor(shape: c.shapes[key] ?? [], data: values) }
            try m.load(stateDict: state)
            m.train(c.training)
            let x = Tensor(shape: [f.batch, f.tokens, f.dim], data: c.input, requiresGrad: true)
            let y = m(x)
            XCTAssertEqual(y.shape, [f.batch, f.tokens, f.outputs])
            assertClose(y.array, c.output, tolerance: 1e-4, "\(name) output")
            (y * Tensor(shape: y.shape, data: c.upstream)).sum().backward()
            assertClose(x.grad?.array ?? [], c.grad_input, tolerance: 1e-4, "\(name) input gradient")
            let tensors = Dictionary(uniqueKeysWithValues: m.namedTensors())
            for (key, expected) in c.grads.sorted(by: { $0.key < $1.key }) {
                assertClose(tensors[key]?.grad?.array ?? [], expected, tolerance: 1e-4, "\(name) gradient of \(key)")
            }
            for (key, expected) in c.running_after.sorted(by: { $0.key < $1.key }) {
                assertClose(tensors[key]?.array ?? [], expected, tolerance: 1e-5, "\(name) \(key) after the pass")
            }
        }
    }

    /// A cut module (first channels, middle taps) computes what a module of that size holding
    /// those slices computes, and updates only its channels' running statistics.
    func testSlicedModuleEqualsSmallModule() throws {
        var rng = SeededGenerator(seed: 5)
        let big = LocalityModule(dim: 6, hidden: 10, outputs: 6, kernel: 7, using: &rng)
        let small = LocalityModule(dim: 6, hidden: 4, outputs: 3, kernel: 3, using: &rng)
        func first(_ t: Tensor?, _ n: Int) throws -> Tensor { try XCTUnwrap(t).slice(axis: 0, 0..<n) }
        var state: [String: Tensor] = [
            "expand.weight": try first(big.expand.weight, 4),
            "depthwise": try first(big.depthwise, 4).slice(axis: 1, 2..<5),
            "project.weight": try first(big.project.weight, 3).slice(axis: 1, 0..<4),
        ]
        for (name, bn) in [("norm1", big.norm1), ("norm2", big.norm2)] {
            state["\(name).weight"] = try first(bn.weight, 4)
            state["\(name).bias"] = try first(bn.bias, 4)
            state["\(name).runningMean"] = try first(bn.runningMean, 4)
            state["\(name).runningVar"] = try first(bn.runningVar, 4)
        }
        try small.load(stateDict: state)
        let x = Tensor.normal([2, 5, 6], using: &rng)
        let a = withoutGrad { big(x, hidden: 4, outputs: 3, kernel: 3) }, b = withoutGrad { small(x) }
        assertClose(a.array, b.array, tolerance: 1e-6, "sliced vs small")
        assertClose(Array(big.norm1.runningMean.array.prefix(4)), small.norm1.runningMean.array, tolerance: 1e-7, "running mean")
        XCTAssertEqual(Array(big.norm1.runningMean.array.suffix(6)), [Float](repeating: 0, count: 6), "channels the path skipped keep their statistics")
    }
}
