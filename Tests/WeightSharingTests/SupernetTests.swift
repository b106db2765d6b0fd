import NASData
import NASNN
import NASSpaces
import NASTensor
import XCTest

/// The model-space primitives and the forward modes of both supernets (NAS-Bench-201, DARTS):
/// a fixed architecture instantiated from a space computes exactly what the supernet's single
/// path computes with the same weights.
final class SupernetTests: XCTestCase {
    static let tiny = NB201NetworkConfig(channels: 4, cellsPerStage: 1, inputChannels: 1, classes: 3, affine: false)
    static let tinyDARTS = DARTSNetworkConfig(channels: 4, layers: 3, inputChannels: 1, classes: 3, affine: false)
    static let genotypeText = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), "
        + "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=range(2, 6), "
        + "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), "
        + "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=range(2, 6))"

    func input(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextNormal() })
    }

    func assertClose(_ a: Tensor, _ b: Tensor, tol: Float = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, file: file, line: line)
        var worst: Float = 0
        for i in 0..<min(a.count, b.count) { worst = max(worst, Swift.abs(a[flat: i] - b[flat: i])) }
        XCTAssertLessThan(worst, tol, file: file, line: line)
    }

    /// Every registered operation builds at stride 1 and 2 with the output shape a cell needs
    /// (same size, or halved with padding as in DARTS's reduction cells), finite values, and its
    /// own name; only `none` is zero.
    func testEveryRegisteredOperationHasTheRightShapeAtBothStrides() {
        let names = OperationRegistry.all.map(\.name)
        XCTAssertEqual(Set(names).count, names.count, "operation names are unique")
        XCTAssertTrue(Set(["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "max_pool_3x3",
                           "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]).isSubset(of: Set(names)))
        let x = input([2, 7, 7, 4], seed: 3)
        for spec in OperationRegistry.all {
            for stride in [1, 2] {
                var rng = SeededGenerator(seed: 4)
                let op = spec.make(4, stride, true, &rng)
                XCTAssertEqual(op.name, spec.name)
                let y = withoutGrad { op(x) }
                XCTAssertEqual(y == nil, spec.name == "none", "\(spec.name) stride \(stride)")
                XCTAssertEqual(op.isZero, spec.name == "none")
                guard let y else { continue }
                let side = stride == 1 ? 7 : 4
                XCTAssertEqual(y.shape, [2, side, side, 4], "\(spec.name) stride \(stride)")
                XCTAssertTrue(y.array.allSatisfy(\.isFinite), "\(spec.name) stride \(stride)")
                XCTAssertTrue(y.array.contains { $0 != 0 }, "\(spec.name) stride \(stride) is not zero")
            }
        }
        XCTAssertNil(OperationRegistry.spec("conv_9x9"))
    }

    /// A layer choice in a mixture is the weighted sum of its candidates; on a path, the chosen one.
    func testLayerChoiceWeightedSumAndPath() {
        let net = NB201Supernet(config: Self.tiny, seed: 1)
        let choice = net.cells[0].edges[0]
        XCTAssertEqual(choice.label, "edge0")
        XCTAssertEqual(choice.candidates.map(\.name), ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"])
        let x = input([2, 6, 6, 4], seed: 2)
        let w: [Float] = [0.1, 0.2, 0.3, 0.25, 0.15]
        let rows = Tensor(shape: [6, 5], data: (0..<30).map { w[$0 % 5] })
        let mixed = withoutGrad { choice(x, net.space.context(.weighted(rows), allowed: net.mask))! }
        var manual = Tensor(zeros: x.shape)
        for (k, op) in choice.candidates.enumerated() {
            if let y = withoutGrad({ op(x) }) { manual = manual + y * w[k] }
        }
        assertClose(mixed, manual)
        for k in 1..<5 {
            let a = ArchitectureChoices((0..<6).map { _ in [k] })
            assertClose(withoutGrad { choice(x, net.space.context(.path(a), allowed: net.mask))! },
                        withoutGrad { choice.candidates[k](x)! })
        }
        XCTAssertNil(choice(x, net.space.context(.path(ArchitectureChoices((0..<6).map { _ in [0] })), allowed: net.mask)))
    }

    func testNB201FixedArchitectureEqualsSinglePath() throws {
        let net = NB201Supernet(config: Self.tiny, seed: 5)
        let cell = try NB201Cell(parsing: "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|")
        let oneHot = Tensor(shape: [6, 5], data: (0..<30).map { cell[$0 / 5].rawValue == $0 % 5 ? 1 : 0 })
        let image = input([3, 8, 8, 1], seed: 6)
        net.eval()
        let path = withoutGrad { net(image, cell: cell) }
        assertClose(path, withoutGrad { net(image, mode: .weighted(oneHot)) })
        let standalone = try net.instantiate(cell)
        standalone.eval()
        // Bit for bit: the same operations on the same weights in the same order.
        XCTAssertEqual(withoutGrad { standalone(image) }.array, path.array)
        XCTAssertEqual(NB201Supernet.cell(NB201Supernet.architecture(cell)), cell)
    }

    func testDARTSFixedArchitectureEqualsSinglePath() throws {
        let net = DARTSSupernet(config: Self.tinyDARTS, seed: 3)
        let genotype = try DARTSGenotype(parsing: Self.genotypeText)
        let a = DARTSSpace.architecture(genotype)
        XCTAssertTrue(net.space.allows(a, mask: net.mask))
        let image = input([2, 8, 8, 1], seed: 4)
        net.eval()
        let path = withoutGrad { net(image, mode: .path(a)) }
        XCTAssertEqual(path.shape, [2, 3])
        let standalone = try net.instantiate(a)
        standalone.eval()
        XCTAssertEqual(standalone.genotype, genotype.canonical)
        assertClose(withoutGrad { standalone(image) }, path, tol: 1e-6)
        // The relaxation with all weight on the chosen operations (and on `none` elsewhere) is the path.
        var w = [Float](repeating: 0, count: net.space.rows.count * net.space.width)
        for (r, d) in net.space.rows.enumerated() { w[r * net.space.width + max(a.choices[d][0], 0)] = 1 }
        assertClose(withoutGrad { net(image, mode: .weighted(Tensor(shape: [net.space.rows.count, net.space.width], data: w))) },
                    path, tol: 1e-5)
    }

    func testDARTSGenotypeRoundTripAndErrors() throws {
        let g = try DARTSGenotype(parsing: Self.genotypeText)
        XCTAssertEqual(g.description, Self.genotypeText, "printed verbatim")
        XCTAssertEqual(try DARTSGenotype(parsing: g.description), g)
        XCTAssertEqual(try DARTSSpace.genotype(DARTSSpace.architecture(g)), g.canonical)
        // Any architecture of the space survives genotype → text → genotype → architecture.
        var rng = SeededGenerator(seed: 11)
        let space = DARTSSpace.space
        for _ in 0..<50 {
            let a = space.uniform(mask: space.fullMask, using: &rng)
            let text = try DARTSSpace.genotype(a).description
            XCTAssertEqual(DARTSSpace.architecture(try DARTSGenotype(parsing: text)), a, text)
        }
        XCTAssertGreaterThan(space.size(mask: space.fullMask), 1e9)
        let bad = [
            "Genotype(normal=[], normal_concat=range(2, 6), reduce=[], reduce_concat=range(2, 6))",
            Self.genotypeText.replacingOccurrences(of: "('sep_conv_3x3', 0), ('sep_conv_3x3', 1)", with: "('conv_7x7', 0), ('sep_conv_3x3', 1)"),
            Self.genotypeText.replacingOccurrences(of: "('skip_connect', 2)]", with: "('skip_connect', 9)]"),
            Self.genotypeText.replacingOccurrences(of: "('sep_conv_3x3', 0), ('sep_conv_3x3', 1)", with: "('sep_conv_3x3', 1), ('sep_conv_3x3', 1)"),
            Self.genotypeText.replacingOccurrences(of: "normal_concat=range(2, 6)", with: "normal_concat=range(2, 5)"),
            Self.genotypeText + ")", "Genotype(", "", "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        ]
        for text in bad {
            XCTAssertThrowsError(try DARTSGenotype(parsing: text), text) { XCTAssertTrue($0 is DARTSGenotypeError, text) }
        }
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
        // The mask of a few-shot sub-supernet restricts every mode.
        net.mask[0] = [false, false, false, true, false]
        XCTAssertTrue(net.allows(try NB201Cell(parsing: "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")))
        XCTAssertFalse(net.allows(try NB201Cell(parsing: "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|")))
    }
}
