import NASData
import NASNN
import NASSpaces
import NASTensor
import XCTest

/// Mixed-op forward modes of the NAS-Bench-201 supernet.
final class SupernetTests: XCTestCase {
    static let tiny = NB201NetworkConfig(channels: 4, cellsPerStage: 1, inputChannels: 1, classes: 3, affine: false)

    func input(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextNormal() })
    }

    func assertClose(_ a: Tensor, _ b: Tensor, tol: Float = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, file: file, line: line)
        var worst: Float = 0
        for i in 0..<a.count { worst = max(worst, Swift.abs(a[flat: i] - b[flat: i])) }
        XCTAssertLessThan(worst, tol, file: file, line: line)
    }

    func testWeightedSumEqualsManualSum() {
        var rng = SeededGenerator(seed: 1)
        let op = NB201MixedOp(channels: 4, affine: false, using: &rng)
        let x = input([2, 6, 6, 4], seed: 2)
        let w: [Float] = [0.1, 0.2, 0.3, 0.25, 0.15]
        let weights = w.map { Tensor(shape: [1], data: [$0]) }
        let mixed = withoutGrad { op(x, weights: weights)! }
        var manual = Tensor(zeros: x.shape)
        for o in NB201Operation.allCases {
            if let y = withoutGrad({ op(x, op: o) }) { manual = manual + y * w[o.rawValue] }
        }
        assertClose(mixed, manual)
    }

    func testSinglePathEqualsChosenOpAlone() throws {
        var rng = SeededGenerator(seed: 3)
        let op = NB201MixedOp(channels: 4, affine: false, using: &rng)
        let x = input([2, 6, 6, 4], seed: 4)
        // One-hot weights select exactly the op.
        for o in [NB201Operation.skipConnect, .conv1x1, .conv3x3, .avgPool3x3] {
            let weights = (0..<5).map { Tensor(shape: [1], data: [$0 == o.rawValue ? 1 : 0]) }
            assertClose(withoutGrad { op(x, weights: weights)! }, withoutGrad { op(x, op: o)! })
        }
        XCTAssertNil(op(x, op: .none))
        // Whole network: path mode equals weighted mode with one-hot weights of that cell.
        let net = NB201Supernet(config: Self.tiny, seed: 5)
        let cell = try NB201Cell(parsing: "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|")
        let oneHot = Tensor(shape: [6, 5], data: (0..<30).map { cell[$0 / 5].rawValue == $0 % 5 ? 1 : 0 })
        let image = input([3, 8, 8, 1], seed: 6)
        net.eval()
        assertClose(withoutGrad { net(image, mode: .path(cell)) }, withoutGrad { net(image, mode: .weighted(oneHot)) })
        // … and equals the stand-alone NAS-Bench-201 network of that cell with the same weights.
        let standalone = NB201Network(cell: cell, config: Self.tiny, seed: 9)
        standalone.eval()
        for (name, t) in standalone.namedTensors() {
            let parts = name.split(separator: ".").map(String.init)
            var source = name
            if parts.first == "blocks", parts.count > 3, parts[2] == "edges" {
                // blocks.i.edges.e.unit.X → blocks.i.edges.e.<conv1x1|conv3x3>.X
                let e = try XCTUnwrap(Int(parts[3]))
                let which = cell[e] == .conv1x1 ? "conv1x1" : "conv3x3"
                source = (parts[0..<4] + [which] + parts[5...]).joined(separator: ".")
            }
            t.assign(try XCTUnwrap(net.stateDict()[source], source))
        }
        assertClose(withoutGrad { standalone(image) }, withoutGrad { net(image, mode: .path(cell)) })
    }

    func testMaskedSubsetIsMeanOfChosenOps() throws {
        let net = NB201Supernet(config: Self.tiny, seed: 7)
        net.eval()
        let image = input([2, 8, 8, 1], seed: 8)
        var mask = Array(repeating: [false, false, false, false, false], count: 6)
        var weights = [Float](repeating: 0, count: 30)
        for e in 0..<6 {
            let chosen = e % 2 == 0 ? [1, 3] : [2, 3, 4]
            for k in chosen { mask[e][k] = true; weights[e * 5 + k] = 1 / Float(chosen.count) }
        }
        assertClose(withoutGrad { net(image, mode: .masked(mask)) },
                    withoutGrad { net(image, mode: .weighted(Tensor(shape: [6, 5], data: weights))) })
        // The edge mask of a few-shot sub-supernet restricts every mode.
        net.edgeMask[0] = [false, false, false, true, false]
        XCTAssertTrue(net.allows(try NB201Cell(parsing: "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")))
        XCTAssertFalse(net.allows(try NB201Cell(parsing: "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|")))
    }
}
