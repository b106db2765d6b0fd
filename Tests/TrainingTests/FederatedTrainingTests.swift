import NASData
@testable import NASEstimators
import NASNN
import NASTensor
import XCTest

final class FederatedTrainingTests: XCTestCase {
    /// Every sample lands on exactly one client; small α concentrates each client on few classes,
    /// large α spreads every class over the clients; the split is fixed by the seed.
    func testDirichletSplit() {
        let labels = (0..<2000).map { $0 % 10 }
        for alpha in [0.1, 100.0] {
            let parts = DirichletPartition.split(labels: labels, classes: 10, clients: 10, alpha: alpha, seed: 3)
            XCTAssertEqual(parts.flatMap { $0 }.sorted(), Array(0..<2000))
            XCTAssertEqual(parts, DirichletPartition.split(labels: labels, classes: 10, clients: 10, alpha: alpha, seed: 3))
            // Mean share of a client's samples that belong to its most common class.
            let dominance = parts.filter { !$0.isEmpty }.map { p -> Double in
                var counts = [Int](repeating: 0, count: 10)
                for i in p { counts[labels[i]] += 1 }
                return Double(counts.max() ?? 0) / Double(p.count)
            }
            let m = dominance.reduce(0, +) / Double(dominance.count)
            if alpha < 1 { XCTAssertGreaterThan(m, 0.5, "α = 0.1 gives clients few classes") } else { XCTAssertLessThan(m, 0.2, "α = 100 is close to IID") }
        }
        var rng = SeededGenerator(seed: 1)
        let draws = (0..<4000).map { _ in DirichletPartition.gamma(shape: 0.5, using: &rng) }
        XCTAssertEqual(draws.reduce(0, +) / 4000, 0.5, accuracy: 0.05, "Gamma(0.5) has mean 0.5")
    }

    /// FedAvg with one client and a fraction of 1 is local training; both algorithms learn a
    /// separable toy task, deterministically, and bad settings are refused.
    func testFedAvgAndCyclicLearnDeterministically() throws {
        var rng = SeededGenerator(seed: 2)
        func data(_ n: Int) -> Dataset {
            let labels = (0..<n).map { $0 % 3 }
            var images = [Float](repeating: 0, count: n * 16)
            for i in 0..<n { for j in 0..<16 { images[i * 16 + j] = 0.3 * Float(rng.nextNormal()) + (j % 3 == labels[i] ? 1 : 0) } }
            return Dataset(images: images, labels: labels, height: 4, width: 4, channels: 1, classCount: 3)
        }
        let train = data(120), test = data(60)
        func model() throws -> any Layer { try ModelZoo.make("mlp", height: 4, width: 4, channels: 1, classes: 3, seed: 5) }
        var c = FederatedConfig()
        (c.clients, c.rounds, c.clientFraction, c.alpha, c.batchSize, c.learningRate) = (4, 4, 1, 100, 16, 0.01)
        for algorithm in FederatedAlgorithm.allCases {
            c.algorithm = algorithm
            let a = try FederatedTraining.run(model: model, config: c, train: train, test: test)
            XCTAssertEqual(a.count, 4)
            XCTAssertGreaterThan(a.last ?? 0, 80, "\(algorithm)")
            XCTAssertEqual(try FederatedTraining.run(model: model, config: c, train: train, test: test), a, "\(algorithm) is deterministic")
        }
        XCTAssertNil(FederatedAlgorithm(rawValue: "gossip"))
        c.clientFraction = 0
        XCTAssertThrowsError(try FederatedTraining.run(model: model, config: c, train: train, test: test))
    }
}
