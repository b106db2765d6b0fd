import Foundation
import XCTest
@testable import NASStrategies
import NASEstimators
import NASExperiment
import NASData
import NASNN
import NASSpaces
import NASTensor

final class RandomGraphTests: XCTestCase {
    func testWattsStrogatzKeepsEdgeCountAndLatticeDegrees() {
        var rng = SeededGenerator(seed: 1)
        let lattice = UndirectedGraph.wattsStrogatz(nodes: 10, k: 4, p: 0, using: &rng)
        XCTAssertEqual(lattice.edges.count, 20)
        XCTAssertEqual(lattice.degrees(), Array(repeating: 4, count: 10))
        for seed in 0..<20 as Range<UInt64> {
            var r = SeededGenerator(seed: seed)
            let g = UndirectedGraph.wattsStrogatz(nodes: 12, k: 4, p: 0.5, using: &r)
            XCTAssertEqual(g.edges.count, 24, "rewiring keeps the number of edges")
            XCTAssertTrue(g.edges.allSatisfy { $0.from < $0.to })
        }
        var a = SeededGenerator(seed: 5), b = SeededGenerator(seed: 5)
        XCTAssertEqual(UndirectedGraph.wattsStrogatz(nodes: 12, k: 4, p: 0.3, using: &a),
                       UndirectedGraph.wattsStrogatz(nodes: 12, k: 4, p: 0.3, using: &b))
    }

    func testErdosRenyiEdgeDensity() {
        var rng = SeededGenerator(seed: 2)
        var total = 0
        for _ in 0..<200 { total += UndirectedGraph.erdosRenyi(nodes: 10, p: 0.3, using: &rng).edges.count }
        let mean = Double(total) / 200
        XCTAssertEqual(mean, 0.3 * 45, accuracy: 0.6)
        XCTAssertEqual(UndirectedGraph.erdosRenyi(nodes: 6, p: 1, using: &rng).edges.count, 15)
        XCTAssertEqual(UndirectedGraph.erdosRenyi(nodes: 6, p: 0, using: &rng).edges.count, 0)
    }

    func testBarabasiAlbertEdgesAndDegrees() {
        for seed in 0..<20 as Range<UInt64> {
            var rng = SeededGenerator(seed: seed)
            let g = UndirectedGraph.barabasiAlbert(nodes: 15, m: 2, using: &rng)
            XCTAssertEqual(g.edges.count, (15 - 2) * 2)
            let d = g.degrees()
            XCTAssertTrue(d[2...].allSatisfy { $0 >= 2 }, "every arriving node brings m edges")
            XCTAssertEqual(d.reduce(0, +), 2 * g.edges.count)
        }
        // Preferential attachment: the early nodes end up with the largest mean degree.
        var rng = SeededGenerator(seed: 9)
        var early = 0, late = 0
        for _ in 0..<100 {
            let d = UndirectedGraph.barabasiAlbert(nodes: 30, m: 2, using: &rng).degrees()
            early += d[0..<5].reduce(0, +); late += d[25..<30].reduce(0, +)
        }
        XCTAssertGreaterThan(early, 2 * late)
    }
}

final class NAGOTests: XCTestCase {
    let space = NAGOSpace()

    func testSampledNetworkBuildsCountsAndTrainsOneStep() {
        var rng = SeededGenerator(seed: 4)
        for trial in 0..<6 {
            let p = space.sampleParameters(using: &rng)
            let d = space.sampleNetwork(p, using: &rng)
            XCTAssertTrue(space.topNodes.contains(d.top.nodeCount))
            XCTAssertEqual(d.mid.count, d.top.nodeCount)
            XCTAssertEqual(zip(d.stageLevels, d.stageLevels.dropFirst()).allSatisfy { $0 <= $1 }, true)
            let net = NAGONetwork(d, inputChannels: 1, classes: 10, using: &rng)
            XCTAssertEqual(net.parameterCount, d.parameterCount(inputChannels: 1, classes: 10), "trial \(trial)")
            guard trial < 2 else { continue }
            let x = Tensor.normal([8, 14, 14, 1], using: &rng)
            let y = (0..<8).map { $0 % 10 }
            let optimizer = Adam(net.parameters(), lr: 0.01)
            let before = crossEntropy(net(x), targets: y)
            XCTAssertEqual(net(x).shape, [8, 10])
            before.backward()
            XCTAssertTrue(net.parameters().allSatisfy { $0.grad != nil }, "every parameter gets a gradient")
            optimizer.step()
            net.zeroGrad()
            // A few more steps on the same batch bring the loss down.
            for _ in 0..<5 {
                optimizer.zeroGrad()
                let l = crossEntropy(net(x), targets: y)
                l.backward()
                optimizer.step()
            }
            XCTAssertLessThan(crossEntropy(net(x), targets: y).item, before.item)
        }
    }

    func testGaussianProcessInterpolatesAndExpectedImprovement() {
        let xs: [[Double]] = (0..<8).map { [Double($0) / 7, 0.5] }
        let ys = xs.map { Foundation.sin(4 * $0[0]) }
        let gp = GaussianProcess(inputs: xs, targets: ys, noise: 1e-4)
        for (x, y) in zip(xs, ys) {
            let (m, s) = gp.predict(x)
            XCTAssertEqual(m, y, accuracy: 0.05)
            XCTAssertLessThan(s, 0.1)
        }
        XCTAssertGreaterThan(gp.predict([0.5, 0.0]).std, gp.predict([0.5, 0.5]).std)
        XCTAssertEqual(GaussianProcess.expectedImprovement(mean: 1, std: 0, best: 0.5), 0.5, accuracy: 1e-12)
        XCTAssertGreaterThan(GaussianProcess.expectedImprovement(mean: 0, std: 1, best: 0), 0.39)
    }

    func testParetoFront() {
        func t(_ a: Double, _ p: Int) -> NAGOBayesianOptimisation.Trial {
            .init(architecture: NAGOArchitecture(parameters: NAGOParameters(values: Array(repeating: 0.5, count: 14)), networkSeed: 0),
                  objective: a, parameterCount: p)
        }
        let trials = [t(0.80, 1000), t(0.85, 5000), t(0.82, 6000), t(0.90, 20000), t(0.79, 900), t(0.90, 30000)]
        XCTAssertEqual(NAGOBayesianOptimisation.paretoFront(trials), [4, 0, 1, 3])
    }

    func testArchitecturesRoundTripAndMoveOneParameter() throws {
        var rng = SeededGenerator(seed: 8)
        for _ in 0..<20 {
            let a = space.sample(using: &rng)
            XCTAssertEqual(try space.parse(space.describe(a)), a)
            let b = space.mutate(a, using: &rng)
            XCTAssertEqual(b.networkSeed, a.networkSeed)
            XCTAssertEqual(zip(a.parameters.values, b.parameters.values).filter { $0 != $1 }.count, 1)
            XCTAssertTrue(b.parameters.values.allSatisfy { (0...1).contains($0) })
            let n = space.neighbors(of: a)
            XCTAssertFalse(n.isEmpty)
            XCTAssertLessThanOrEqual(n.count, 28)
            XCTAssertEqual(Set(n).count, n.count)
            XCTAssertTrue(n.allSatisfy { $0 != a && $0.networkSeed == a.networkSeed })
            XCTAssertEqual(space.encode(a).count, space.encodingLength(.oneHot))
            XCTAssertEqual(space.parameterCount(of: a), space.network(of: a).parameterCount(inputChannels: 1, classes: 10))
        }
        // At the edge a step reflects back inside: 0.95 + 0.1 lands on 0.95 itself (no neighbour).
        var edge = Array(repeating: 0.5, count: 14)
        edge[0] = 0.95
        let neighbours = space.neighbors(of: NAGOArchitecture(parameters: NAGOParameters(values: edge), networkSeed: 1))
        XCTAssertEqual(neighbours.count, 27)
        XCTAssertEqual(neighbours[0].parameters.values[0], 0.85, accuracy: 1e-12)
    }

    func testBadArchitectureStringsNameTheField() {
        var rng = SeededGenerator(seed: 3)
        let good = space.describe(space.sample(using: &rng))
        let parameters = good.split(separator: ";")[0]
        func message(_ s: String) -> String {
            do { _ = try space.parse(s); return "parsed" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(String(parameters)).contains("seed=<n>"))
        XCTAssertTrue(message(parameters + ";seed=-1").contains("seed must be"))
        XCTAssertTrue(message(good.replacingOccurrences(of: "top_nodes=", with: "top_node=")).contains("expected top_nodes=<value>"))
        let fields = parameters.split(separator: ",")
        let outOfRange = (["top_model=0.5", "top_nodes=1.5"] + fields.dropFirst(2).map(String.init)).joined(separator: ",") + ";seed=1"
        XCTAssertTrue(message(outOfRange).contains("top_nodes is 1.5"), message(outOfRange))
        XCTAssertTrue(message(fields.dropFirst().joined(separator: ",") + ";seed=1").contains("got 13 fields"))
        let nan = (["top_model=nan"] + fields.dropFirst().map(String.init)).joined(separator: ",") + ";seed=1"
        XCTAssertTrue(message(nan).contains("top_model is 'nan'"), message(nan))
        XCTAssertThrowsError(try JSONDecoder().decode(NAGOParameters.self, from: Data("[0.5, 2]".utf8)))
    }

    /// A stand-in for training: a smooth function of the parameters, so a search is fast.
    struct SyntheticEstimator: Estimator {
        typealias Space = NAGOSpace
        let space: NAGOSpace
        var name: String { "synthetic" }
        var fidelities: [Fidelity] { [] }
        var costUnit: String { "epochs" }
        func evaluate(_ a: NAGOArchitecture, fidelity: Fidelity?) throws -> Evaluation {
            let v = a.parameters.values
            return Evaluation(metrics: ["valid_accuracy": 70 + 20 * v[13] - 10 * Swift.abs(v[12] - 0.5),
                                        "params": Double(space.parameterCount(of: a))], cost: 1)
        }
    }

    func signature(_ trials: [TrialRecord]) -> [String] {
        trials.map { "\($0.number) \($0.architecture) \($0.status) \($0.objective ?? .nan)" }
    }

    /// NAGO's search runs through the trial store: killed between trials and after an ask, it
    /// resumes to exactly the uninterrupted run, for its BO and for the black-box baselines.
    func testSearchResumesExactlyThroughTheStore() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnas-nago-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let estimator = SyntheticEstimator(space: space)
        let cases: [(String, [String: String])] = [
            ("nago", ["initial_samples": "4", "candidates": "100", "local_candidates": "20"]),
            ("rea", ["population": "5", "sample_size": "2"]),
            ("random", [:]),
        ]
        for (name, overrides) in cases {
            func runner(_ store: any TrialStore) throws -> ExperimentRunner<NAGOSpace> {
                try NAGOSearchSetup.runner(strategy: name, overrides: overrides, seed: 5, budget: Budget(queries: 12), space: space,
                                           estimator: estimator, estimatorDescription: "synthetic", store: store)
            }
            let reference = try runner(InMemoryTrialStore()).run()
            XCTAssertEqual(reference.queries, 12)
            XCTAssertEqual(try runner(InMemoryTrialStore()).run().trials.map(\.architecture),
                           reference.trials.map(\.architecture), "\(name) is deterministic per seed")
            let path = directory.appendingPathComponent("\(name).sqlite").path
            let first = try runner(try SQLiteTrialStore(path: path))
            first.stopAfterTrials = 5
            XCTAssertEqual(try first.run().trials.count, 5)
            let second = try runner(try SQLiteTrialStore(path: path))
            second.stopAfterAskOfTrial = 8
            XCTAssertEqual(try second.run().trials.last?.status, .asked)
            let resumed = try runner(try SQLiteTrialStore(path: path)).run()
            XCTAssertEqual(resumed.resumedTrials, 8, name)
            XCTAssertEqual(signature(resumed.trials), signature(reference.trials), name)
            let front = NAGOBayesianOptimisation.paretoFront(try NAGOSearchSetup.frontTrials(resumed.trials, space: space))
            XCTAssertFalse(front.isEmpty)
        }
        // BO with a GP does better than its own initial uniform samples on this smooth objective.
        let bo = try NAGOSearchSetup.runner(strategy: "nago", overrides: ["initial_samples": "4", "multi_objective": "false"], seed: 1,
                                            budget: Budget(queries: 16), space: space, estimator: estimator,
                                            estimatorDescription: "synthetic", store: InMemoryTrialStore()).run()
        let objectives = bo.trials.compactMap(\.objective)
        XCTAssertGreaterThan(objectives[4...].max() ?? 0, objectives[..<4].max() ?? 0)
        XCTAssertThrowsError(try NAGOSearchSetup.strategy("bananas", overrides: [:], space: space, seed: 0))
        XCTAssertThrowsError(try NAGOSearchSetup.strategy("nago", overrides: ["min_weight": "2"], space: space, seed: 0))
        XCTAssertThrowsError(try NAGOSearchSetup.strategy("nago", overrides: ["candidates": "100000000"], space: space, seed: 0))
        XCTAssertThrowsError(try NAGOBayesianOptimisation(space: space, state: Data("{}".utf8)))
    }

    /// The training estimator trains the architecture's own network, deterministically.
    func testTrainingEstimatorIsDeterministic() throws {
        var rng = SeededGenerator(seed: 2)
        func data(_ n: Int) -> Dataset {
            let labels = (0..<n).map { $0 % 10 }
            var images = [Float](repeating: 0, count: n * 14 * 14)
            for i in 0..<n { for j in 0..<(14 * 14) { images[i * 196 + j] = Float(rng.unitDouble()) + (j % 10 == labels[i] ? 1 : 0) } }
            return Dataset(images: images, labels: labels, height: 14, width: 14, channels: 1, classCount: 10)
        }
        let estimator = try NAGOTrainingEstimator(space: space, training: NAGOTrainingEstimator.recipe(epochs: 1, batchSize: 16),
                                                  train: data(48), validation: data(20))
        let a = space.sample(using: &rng)
        let first = try estimator.evaluate(a, fidelity: nil)
        let again = try estimator.evaluate(a, fidelity: nil)
        XCTAssertEqual(first.metrics["valid_accuracy"], again.metrics["valid_accuracy"])
        XCTAssertEqual(first.metrics["params"], Double(space.parameterCount(of: a)))
        XCTAssertTrue((0...100).contains(first.metrics["valid_accuracy"] ?? -1))
        XCTAssertEqual(first.cost, 1)
        XCTAssertThrowsError(try NAGOTrainingEstimator(space: NAGOSpace(inputChannels: 3, classes: 10),
                                                       training: NAGOTrainingEstimator.recipe(epochs: 1), train: data(8), validation: data(4)))
    }
}
