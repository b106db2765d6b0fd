import Foundation
import XCTest
@testable import NASNN
import NASTensor

struct LSTMFixture: Decodable {
    let batch: Int, steps: Int, inputSize: Int, hiddenSize: Int
    let weightIh: [Float], weightHh: [Float], biasIh: [Float], biasHh: [Float]
    let x: [Float], h0: [Float], c0: [Float]
    let output: [Float], hN: [Float], cN: [Float]
    let r: [Float], rh: [Float], rc: [Float]
    let gradX: [Float], gradH0: [Float], gradC0: [Float]
    let gradWeightIh: [Float], gradWeightHh: [Float], gradBiasIh: [Float], gradBiasHh: [Float]

    static func load() throws -> LSTMFixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "lstm_fixtures", withExtension: "json", subdirectory: "Fixtures"))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(LSTMFixture.self, from: Data(contentsOf: url))
    }
}

func assertClose(_ a: [Float], _ b: [Float], tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): sizes differ", file: file, line: line)
    var worst: Float = 0
    for (x, y) in zip(a, b) { worst = max(worst, Swift.abs(x - y) / max(1, Swift.abs(y))) }
    XCTAssertLessThan(worst, tol, "\(what): largest relative difference \(worst)", file: file, line: line)
}

final class LSTMTests: XCTestCase {
    /// Forward outputs, final state and every gradient match torch.nn.LSTM.
    func testMatchesPyTorch() throws {
        let f = try LSTMFixture.load()
        var rng = SeededGenerator(seed: 1)
        let lstm = LSTM(inputSize: f.inputSize, hiddenSize: f.hiddenSize, using: &rng)
        let cell = lstm.cell
        for (t, v) in [(cell.weightIh, f.weightIh), (cell.weightHh, f.weightHh), (cell.biasIh, f.biasIh), (cell.biasHh, f.biasHh)] {
            XCTAssertEqual(t.count, v.count)
            v.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: t.count) }
        }
        let x = Tensor(shape: [f.batch, f.steps, f.inputSize], data: f.x, requiresGrad: true)
        let h0 = Tensor(shape: [f.batch, f.hiddenSize], data: f.h0, requiresGrad: true)
        let c0 = Tensor(shape: [f.batch, f.hiddenSize], data: f.c0, requiresGrad: true)
        let (out, h, c) = lstm(x, state: (h0, c0))
        XCTAssertEqual(out.shape, [f.batch, f.steps, f.hiddenSize])
        assertClose(out.array, f.output, tol: 1e-5, "output")
        assertClose(h.array, f.hN, tol: 1e-5, "h_n")
        assertClose(c.array, f.cN, tol: 1e-5, "c_n")
        let loss = (out * Tensor(shape: out.shape, data: f.r)).sum()
            + (h * Tensor(shape: h.shape, data: f.rh)).sum() + (c * Tensor(shape: c.shape, data: f.rc)).sum()
        loss.backward()
        assertClose(try XCTUnwrap(x.grad).array, f.gradX, tol: 1e-4, "grad x")
        assertClose(try XCTUnwrap(h0.grad).array, f.gradH0, tol: 1e-4, "grad h0")
        assertClose(try XCTUnwrap(c0.grad).array, f.gradC0, tol: 1e-4, "grad c0")
        assertClose(try XCTUnwrap(cell.weightIh.grad).array, f.gradWeightIh, tol: 1e-4, "grad weight_ih")
        assertClose(try XCTUnwrap(cell.weightHh.grad).array, f.gradWeightHh, tol: 1e-4, "grad weight_hh")
        assertClose(try XCTUnwrap(cell.biasIh.grad).array, f.gradBiasIh, tol: 1e-4, "grad bias_ih")
        assertClose(try XCTUnwrap(cell.biasHh.grad).array, f.gradBiasHh, tol: 1e-4, "grad bias_hh")
    }

    /// Autograd through the sequence against central differences (float64 accumulation).
    func testGradientMatchesFiniteDifferences() {
        var rng = SeededGenerator(seed: 7)
        let lstm = LSTM(inputSize: 3, hiddenSize: 4, using: &rng)
        let x = Tensor.normal([2, 4, 3], using: &rng, requiresGrad: true)
        let h0 = Tensor.normal([2, 4], std: 0.5, using: &rng, requiresGrad: true)
        let c0 = Tensor.normal([2, 4], std: 0.5, using: &rng, requiresGrad: true)
        let rOut = Tensor.normal([2, 4, 4], using: &rng)
        let rC = Tensor.normal([2, 4], using: &rng)
        func loss() -> Tensor {
            let (out, _, c) = lstm(x, state: (h0, c0))
            return (out * rOut).sum() + (c * rC).sum()
        }
        let l = loss()
        l.backward()
        var checked = 0
        for t in [x, h0, c0] + lstm.parameters() {
            let analytic = t.grad?.array ?? []
            XCTAssertTrue(analytic.contains { $0 != 0 }, "gradient is zero everywhere")
            for i in 0..<t.count {
                let saved = t.data[i]
                let eps: Float = 1e-2
                t.data[i] = saved + eps
                let plus = Double(withoutGrad { loss() }.item)
                t.data[i] = saved - eps
                let minus = Double(withoutGrad { loss() }.item)
                t.data[i] = saved
                let numeric = (plus - minus) / (2 * Double(eps))
                XCTAssertEqual(Double(analytic[i]), numeric, accuracy: 3e-3 + 3e-3 * Swift.abs(numeric),
                               "element \(i) of a \(t.shape) tensor")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 2 * 4 * 3 + 8 + 8 + 4 * 4 * 3 + 4 * 4 * 4 + 16 + 16)
    }

    /// The cell called once equals the sequence LSTM over one step; names follow PyTorch.
    func testCellStepMatchesSequenceOfOne() {
        var rng = SeededGenerator(seed: 3)
        let lstm = LSTM(inputSize: 5, hiddenSize: 3, using: &rng)
        let x = Tensor.normal([4, 1, 5], using: &rng)
        let (out, h, c) = lstm(x)
        let (h1, c1) = lstm.cell(x.reshaped([4, 5]))
        XCTAssertEqual(out.reshaped([4, 3]).array, h1.array)
        XCTAssertEqual(h.array, h1.array)
        XCTAssertEqual(c.array, c1.array)
        XCTAssertEqual(lstm.cell.torchNamedParameters().map(\.0), ["weight_ih", "weight_hh", "bias_ih", "bias_hh"])
        XCTAssertEqual(lstm.parameterCount, 4 * 3 * (5 + 3) + 2 * 4 * 3)
    }
}
