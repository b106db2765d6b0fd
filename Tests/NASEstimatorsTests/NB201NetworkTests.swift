import Foundation
import NASBench
import NASData
import NASEstimators
import NASNN
import NASSpaces
import NASTensor
import XCTest

/// Fashion-MNIST as the README's install step puts it (Debian's `dataset-fashion-mnist`), or
/// `$SWIFTNAS_FMNIST`.
let fashionMNIST = ProcessInfo.processInfo.environment["SWIFTNAS_FMNIST"] ?? "/usr/share/datasets/fashion-mnist"

/// The NAS-Bench-201 table that ships with SwiftNAS, loaded once; a failure fails the tests that use it.
enum Table {
    static let loaded: Result<NB201Table, Error> = Result { try NB201Table.embedded() }
    static func require() throws -> NB201Table { try loaded.get() }
}

final class NB201NetworkTests: XCTestCase {
    /// Our parameter count equals the table's `params_m` (CIFAR-10 head) for 400 seeded random
    /// cells. The table's 204 anomalous rows are left out: 199 hold a fractional parameter count
    /// (an average carried over from other rows, which no build has), and five hold the count of
    /// another cell (listed below with their real counts, from the table's provenance README).
    /// The network runs ReLU-conv as one op and adds each convolution edge to its node's sum
    /// inside the batch norm's pass. Its loss and every gradient equal those of the same modules
    /// composed from the plain ops (relu, conv2d, batchNorm, +), to within float32 reordering.
    func testFusedEdgesMatchThePlainOpComposition() throws {
        let cell = try NB201Cell(parsing: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|")
        let net = NB201Network(cell: cell, config: NB201NetworkConfig(channels: 8, cellsPerStage: 1), seed: 3)
        var rng = SeededGenerator(seed: 4)
        let x = Tensor.normal([4, 16, 12, 3], using: &rng)
        let targets = [0, 3, 7, 9]
        func plainUnit(_ u: ReLUConvBN, _ v: Tensor) -> Tensor { u.bn(u.conv(relu(v))) }
        func plainForward(_ v: Tensor) throws -> Tensor {
            var h = net.stemBN(net.stem(v))
            for block in net.blocks {
                if let r = block as? ResidualReduction {
                    h = plainUnit(r.convB, plainUnit(r.convA, h)) + r.shortcut(avgPool2d(h, kernel: 2, stride: 2))
                } else if let c = block as? NB201CellModule {
                    var nodes: [Tensor?] = [h]
                    for node in 1..<NB201Cell.nodeCount {
                        var sum: Tensor? = nil
                        for (e, edge) in NB201Cell.edges.enumerated() where edge.to == node {
                            guard let input = nodes[edge.from] else { continue }
                            let y: Tensor?
                            switch c.edges[e].operation {
                            case .none: y = nil
                            case .skipConnect: y = input
                            case .avgPool3x3: y = avgPool2d(input, kernel: 3, stride: 1, padding: 1, countIncludePad: false)
                            case .conv1x1, .conv3x3: y = plainUnit(try XCTUnwrap(c.edges[e].unit), input)
                            }
                            if let y { sum = sum.map { $0 + y } ?? y }
                        }
                        nodes.append(sum)
                    }
                    h = try XCTUnwrap(nodes[NB201Cell.nodeCount - 1])
                }
            }
            return net.classifier(globalAvgPool2d(relu(net.lastBN(h))))
        }
        func lossAndGradients(_ forward: (Tensor) throws -> Tensor) throws -> (Float, [[Float]]) {
            let params = net.parameters()
            params.forEach { $0.grad = nil }
            let loss = crossEntropy(try forward(x), targets: targets)
            loss.backward()
            return (loss.item, try params.map { try XCTUnwrap($0.grad).array })
        }
        let (fusedLoss, fusedGrads) = try lossAndGradients { net($0) }
        let (plainLoss, plainGrads) = try lossAndGradients(plainForward)
        XCTAssertEqual(fusedLoss, plainLoss, accuracy: 1e-5 * max(1, abs(plainLoss)))
        XCTAssertEqual(fusedGrads.count, plainGrads.count)
        for (i, (f, p)) in zip(fusedGrads, plainGrads).enumerated() {
            let scale = max(1e-3, p.map { abs($0) }.max() ?? 0)
            let worst = zip(f, p).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "parameter \(i): fused and plain gradients differ by \(worst) (largest \(scale))")
        }
    }

    func testParameterCountsMatchTheTable() throws {
        let table = try Table.require()
        let wrongInTable: [Int: Double] = [737: 0.185306, 5065: 0.802426, 15372: 1.045466, 6545: 1.045466, 11964: 1.045466]
        var rng = SeededGenerator(seed: 42)
        var checked = 0, anomalous = 0
        // Parameter counts depend only on the cell, so a small-N network cannot stand in: build C=16, N=5.
        for _ in 0..<400 {
            let index = Int(rng.next() % 15_625)
            let cell = table.cells[index]
            let stored = try XCTUnwrap(table.value(.paramsM, for: cell))
            let counted = Double(NB201Network(cell: cell, seed: 0).parameterCount) / 1e6
            if abs(stored * 1e6 - (stored * 1e6).rounded()) > 1e-3 {
                anomalous += 1
                continue
            }
            XCTAssertEqual(counted, wrongInTable[index] ?? stored, accuracy: 1e-6, "arch \(index) \(cell)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 380)
        XCTAssertLessThan(anomalous, 20)
        XCTAssertEqual(table.column(.paramsM).filter { abs($0 * 1e6 - ($0 * 1e6).rounded()) > 1e-3 }.count, 199)
        // The extremes: all-none and all-conv3x3 cells.
        let none = try NB201Cell(parsing: "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
        XCTAssertEqual(Double(NB201Network(cell: none, seed: 0).parameterCount) / 1e6, try XCTUnwrap(table.value(.paramsM, for: none)), accuracy: 1e-6)
        let conv = try NB201Cell(parsing: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
        XCTAssertEqual(Double(NB201Network(cell: conv, seed: 0).parameterCount) / 1e6, 1.531546, accuracy: 1e-6)
    }

    func testForwardShapesAndFashionMNISTAdapter() throws {
        let cell = try NB201Cell(parsing: "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
        let net = NB201Network(cell: cell, config: NB201NetworkConfig(channels: 8, cellsPerStage: 1, inputChannels: 1, classes: 10), seed: 1)
        var rng = SeededGenerator(seed: 0)
        let x = Tensor.normal([4, 32, 32, 1], using: &rng)
        let y = net(x)
        XCTAssertEqual(y.shape, [4, 10])
        // Same seed, same network and output.
        let again = NB201Network(cell: cell, config: net.config, seed: 1)(x)
        XCTAssertEqual(y.array, again.array)
        // A disconnected cell still runs and its output ignores the input.
        let dead = try NB201Cell(parsing: "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
        let d = NB201Network(cell: dead, config: net.config, seed: 1)
        d.eval()
        let a = d(x), b = d(Tensor.normal([4, 32, 32, 1], using: &rng))
        XCTAssertEqual(a.array, b.array)
        // MACs: stem + one conv3x3 at 32², 16², 8² + reductions + classifier for C=8.
        let macs = NB201Network(cell: dead, config: NB201NetworkConfig(channels: 8, cellsPerStage: 1, inputChannels: 1), seed: 0)
            .multiplyAccumulates(height: 32, width: 32)
        let expected = 72 * 1024 + 576 * 1024 + 2304 * 16 * 16 + 9216 * 64   // stem + the cell's conv at C, 2C, 4C
            + (8 * 9 * 16 + 16 * 9 * 16 + 8 * 16) * 256                       // reduction 1
            + (16 * 9 * 32 + 32 * 9 * 32 + 16 * 32) * 64                      // reduction 2
            + 32 * 10
        XCTAssertEqual(macs, expected)
    }

    func testTrainingEstimatorLearnsOnFashionMNIST() throws {
        let (fullTrain, fullTest) = try DatasetReader.idxDirectory(fashionMNIST)
        let s = fullTrain.channelStatistics()
        func prep(_ d: Dataset) -> Dataset { d.normalized(mean: s.mean, std: s.std).padded(to: 32) }
        let (train, valid) = prep(fullTrain.prefix(2000)).split(validationFraction: 0.2, seed: 0)
        var schedule = NB201TrainingEstimator.benchmarkSchedule
        schedule.batchSize = 64
        let estimator = NB201TrainingEstimator(network: NB201NetworkConfig(channels: 8, cellsPerStage: 1, inputChannels: 1),
                                               training: schedule, train: train, validation: valid, test: prep(fullTest.prefix(300)))
        let cell = try NB201Cell(parsing: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
        let e = try estimator.evaluate(cell, fidelity: Fidelity(epochs: 2))
        XCTAssertGreaterThan(e.metrics["test_accuracy"] ?? 0, 50)
        XCTAssertGreaterThan(e.metrics["valid_accuracy"] ?? 0, 50)
        XCTAssertEqual(e.metrics["params"], Double(NB201Network(cell: cell, config: estimator.network, seed: 0).parameterCount))
        XCTAssertGreaterThan(e.cost, 0)
    }
}
