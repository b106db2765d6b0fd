import Foundation
import NASData
import NASEstimators
import NASNN
import NASSpaces
import NASTensor
import XCTest

final class ZeroCostTests: XCTestCase {
    func batch(_ n: Int = 16) throws -> (Tensor, [Int]) {
        let (train, _) = try DatasetReader.idxDirectory(fashionMNIST)
        let d = train.prefix(n).padded(to: 32)
        return (Tensor(shape: [n, 32, 32, 1], data: d.images), d.labels)
    }

    func testAgreementKernelMatchesItsDefinition() {
        var rng = SeededGenerator(seed: 3)
        let x = Tensor.normal([5, 3, 3, 9], using: &rng)   // 81 units: more than one 64-bit word
        var k = [Double](repeating: 0, count: 25)
        LinearAlgebra.accumulateAgreementKernel(x, weight: 2, into: &k)
        for i in 0..<5 { for j in 0..<5 {
            var agree = 0
            for u in 0..<81 where (x[flat: i * 81 + u] > 0) == (x[flat: j * 81 + u] > 0) { agree += 1 }
            XCTAssertEqual(k[i * 5 + j], 2 * Double(agree))
        }}
    }

    func testLinearAlgebra() {
        // [[2,1],[1,2]]: eigenvalues 1 and 3, determinant 3.
        assertClose(LinearAlgebra.symmetricEigenvalues([2, 1, 1, 2], n: 2), [1, 3], accuracy: 1e-12)
        XCTAssertEqual(LinearAlgebra.logAbsDeterminant([2, 1, 1, 2], n: 2), Foundation.log(3), accuracy: 1e-12)
        XCTAssertEqual(LinearAlgebra.logAbsDeterminant([0, 2, -3, 1], n: 2), Foundation.log(6), accuracy: 1e-12)
        XCTAssertEqual(LinearAlgebra.logAbsDeterminant([1, 2, 2, 4], n: 2), -.infinity)
        let c = LinearAlgebra.rowCorrelation([1, 2, 3, 2, 4, 6, 3, 2, 1], rows: 3, columns: 3)
        XCTAssertEqual(c[1], 1, accuracy: 1e-12)
        XCTAssertEqual(c[2], -1, accuracy: 1e-12)
    }

    func testSpearman() {
        XCTAssertEqual(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1, accuracy: 1e-12)
        XCTAssertEqual(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1, accuracy: 1e-12)
        // scipy.stats.spearmanr([1,2,2,3,5], [2,1,4,3,5]) = 0.6668859288553503
        XCTAssertEqual(spearman([1, 2, 2, 3, 5], [2, 1, 4, 3, 5]), 0.6668859288553503, accuracy: 1e-12)
        XCTAssertEqual(spearman([1, .nan, 3, 4], [1, 5, 2, 3]), 1, accuracy: 1e-12)   // the NaN pair is dropped
    }

    func testProxiesAreDeterministicAndRankACellWithoutParametersBelowAConvCell() throws {
        let (x, y) = try batch()
        let scorer = ZeroCostScorer(config: NB201NetworkConfig(channels: 8, cellsPerStage: 1, inputChannels: 1), batch: x,
                                    labels: y, gradientBatchSize: 8)
        let conv = try NB201Cell(parsing: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
        let skip = try NB201Cell(parsing: "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|")
        let a = scorer.scores(conv, proxies: ZeroCostProxy.allCases, seed: 7)
        XCTAssertEqual(a, scorer.scores(conv, proxies: ZeroCostProxy.allCases, seed: 7))
        XCTAssertEqual(Set(a.keys), Set(ZeroCostProxy.allCases))
        for (p, v) in a { XCTAssertTrue(v.isFinite, "\(p) = \(v)") }
        let b = scorer.scores(skip, proxies: ZeroCostProxy.allCases, seed: 7)
        // More parameters and more distinct ReLU codes for the conv cell.
        for p in [ZeroCostProxy.params, .flops, .synflow, .naswot] { XCTAssertGreaterThan(a[p] ?? .nan, b[p] ?? .nan, "\(p)") }
        // NASWOT's kernel of a batch of distinct images is positive definite: a finite log-determinant
        // bounded by n·log(total units) (Hadamard's inequality on the diagonal).
        XCTAssertLessThan(a[.naswot] ?? .nan, 16 * Foundation.log(1e7))
    }

    func testSynflowLeavesTheNetworkWeightsAsTheySeedMakesThem() throws {
        // Scoring builds fresh networks, so scoring one proxy must not change another's result.
        let (x, y) = try batch()
        let scorer = ZeroCostScorer(config: NB201NetworkConfig(channels: 8, cellsPerStage: 1, inputChannels: 1), batch: x, labels: y)
        let cell = try NB201Cell(parsing: "|nor_conv_1x1~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
        let alone = try XCTUnwrap(scorer.scores(cell, proxies: [.snip], seed: 1)[.snip])
        let together = try XCTUnwrap(scorer.scores(cell, proxies: [.synflow, .snip], seed: 1)[.snip])
        XCTAssertEqual(alone, together)
    }

    /// The log-space synflow against the plain sum, on a network small enough for float32.
    func testSynflowInLogSpaceEqualsTheDirectSum() throws {
        let config = NB201NetworkConfig(channels: 4, cellsPerStage: 1, inputChannels: 3)
        let x = Tensor(repeating: 0.5, shape: [2, 32, 32, 3])
        let scorer = ZeroCostScorer(config: config, batch: x, labels: [0, 1])
        for text in ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
                     "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|"] {
            let cell = try NB201Cell(parsing: text)
            let net = NB201Network(cell: cell, config: config, seed: 5)
            for (_, m) in net.namedModules() { (m as? BatchNorm)?.isBypassed = true }
            for p in net.parameters() { for i in 0..<p.count { p[flat: i] = abs(p[flat: i]) } }
            net(Tensor(repeating: 1, shape: [1, 32, 32, 3])).sum().backward()
            var direct = 0.0
            for w in net.namedModules().compactMap({ ($0.1 as? Conv2d)?.weight ?? ($0.1 as? Linear)?.weight }) {
                guard let g = w.grad else { continue }
                for i in 0..<w.count { direct += Double(w[flat: i]) * Double(g[flat: i]) }
            }
            XCTAssertTrue(direct.isFinite && direct > 0)
            let logSpace = try XCTUnwrap(scorer.scores(cell, proxies: [.synflow], seed: 5)[.synflow])
            XCTAssertEqual(logSpace, Foundation.log1p(direct), accuracy: 1e-4 * Foundation.log1p(direct), text)
        }
        // No input–output path: no flow, the lowest score.
        let empty = try NB201Cell(parsing: "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
        XCTAssertEqual(scorer.scores(empty, proxies: [.synflow], seed: 5)[.synflow], 0)
    }

    /// At the CIFAR-10 build (C=16, N=5, 3 channels) the summed flow of conv-heavy cells passes
    /// float32's range (~10^49); the score stays finite for every all-convolution cell (the
    /// largest flows) and a seeded sample of the rest, and more convolutions mean more flow.
    func testSynflowIsFiniteForConvHeavyCellsAtTheCIFARBuild() throws {
        let scorer = ZeroCostScorer(config: NB201NetworkConfig(channels: 16, cellsPerStage: 5, inputChannels: 3),
                                    batch: Tensor(repeating: 0, shape: [2, 32, 32, 3]), labels: [0, 1])
        var cells = (0..<64).map { bits in
            NB201Cell(ops: (0..<6).map { bits >> $0 & 1 == 1 ? NB201Operation.conv3x3 : .conv1x1 })
        }
        var rng = SeededGenerator(seed: 21)
        cells += (0..<16).map { _ in NB201SearchSpace().sample(using: &rng) }
        var allConv3 = 0.0, allConv1 = 0.0
        for cell in cells {
            let v = try XCTUnwrap(scorer.scores(cell, proxies: [.synflow], seed: 0)[.synflow])
            XCTAssertTrue(v.isFinite && v >= 0, "\(cell): \(v)")
            if cell.ops.allSatisfy({ $0 == .conv3x3 }) { allConv3 = v }
            if cell.ops.allSatisfy({ $0 == .conv1x1 }) { allConv1 = v }
        }
        // ln S beyond float32's largest value (ln 3.4e38 ≈ 88.7), as NASLib's values reach ~113.
        XCTAssertGreaterThan(allConv3, 88.8)
        XCTAssertGreaterThan(allConv3, allConv1)
    }
}

func assertClose(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
