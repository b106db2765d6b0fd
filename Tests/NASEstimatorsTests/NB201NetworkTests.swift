import Foundation
import NASBench
import NASData
import NASEstimators
import NASNN
import NASSpaces
import NASTensor
import XCTest

let sharedData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data").path

enum Table {
    static let shared: NB201Table = try! NB201Table(contentsOf: "\(sharedData)/nasbench201/nasbench201.csv")
}

final class NB201NetworkTests: XCTestCase {
    /// Our parameter count equals the table's `params_m` (CIFAR-10 head) for 400 seeded random
    /// cells; the rows the data README lists as anomalies must match its exact count instead.
    func testParameterCountsMatchTheTable() throws {
        let table = Table.shared
        let anomalies = try String(contentsOfFile: "\(sharedData)/nasbench201/params_m_anomalies.csv", encoding: .utf8)
            .split(separator: "\n").dropFirst().reduce(into: [Int: Double]()) { d, line in
                let f = line.split(separator: ",")
                d[Int(f[0])!] = Double(f[2])!
            }
        XCTAssertEqual(anomalies.count, 204)
        var rng = SeededGenerator(seed: 42)
        var checked = 0, anomalous = 0
        // Parameter counts depend only on the cell, so a small-N network cannot stand in: build C=16, N=5.
        for _ in 0..<400 {
            let index = Int(rng.next() % 15_625)
            let cell = table.cells[index]
            let counted = NB201Network(cell: cell, seed: 0).parameterCount
            let expected = anomalies[index] ?? table.value(.paramsM, for: cell)!
            if anomalies[index] != nil { anomalous += 1 }
            XCTAssertEqual(Double(counted) / 1e6, expected, accuracy: 1e-6, "arch \(index) \(cell)")
            checked += 1
        }
        XCTAssertEqual(checked, 400)
        // The extremes: all-none and all-conv3x3 cells.
        let none = try NB201Cell(parsing: "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
        XCTAssertEqual(Double(NB201Network(cell: none, seed: 0).parameterCount) / 1e6, table.value(.paramsM, for: none)!, accuracy: 1e-6)
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
        let (fullTrain, fullTest) = try DatasetReader.idxDirectory("\(sharedData)/fashion-mnist")
        let s = fullTrain.channelStatistics()
        func prep(_ d: Dataset) -> Dataset { d.normalized(mean: s.mean, std: s.std).padded(to: 32) }
        let (train, valid) = prep(fullTrain.prefix(2000)).split(validationFraction: 0.2, seed: 0)
        var schedule = NB201TrainingEstimator.benchmarkSchedule
        schedule.batchSize = 64
        let estimator = NB201TrainingEstimator(network: NB201NetworkConfig(channels: 8, cellsPerStage: 1, inputChannels: 1),
                                               training: schedule, train: train, validation: valid, test: prep(fullTest.prefix(300)))
        let cell = try NB201Cell(parsing: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
        let e = try estimator.evaluate(cell, fidelity: Fidelity(epochs: 2))
        XCTAssertGreaterThan(e.metrics["test_accuracy"]!, 50)
        XCTAssertGreaterThan(e.metrics["valid_accuracy"]!, 50)
        XCTAssertEqual(e.metrics["params"], Double(NB201Network(cell: cell, config: estimator.network, seed: 0).parameterCount))
        XCTAssertGreaterThan(e.cost, 0)
    }
}
