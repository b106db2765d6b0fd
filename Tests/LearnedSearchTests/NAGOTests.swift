import Foundation
import XCTest
@testable import NASStrategies
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
            .init(parameters: NAGOParameters(values: Array(repeating: 0.5, count: 14)), networkSeed: 0, accuracy: a, parameterCount: p)
        }
        let trials = [t(0.80, 1000), t(0.85, 5000), t(0.82, 6000), t(0.90, 20000), t(0.79, 900), t(0.90, 30000)]
        XCTAssertEqual(NAGOBayesianOptimisation.paretoFront(trials), [4, 0, 1, 3])
    }

    /// With a synthetic accuracy, the optimiser is deterministic per seed and resumes exactly.
    func testDeterministicAndResumable() throws {
        func fakeAccuracy(_ p: NAGOParameters) -> Double { 0.7 + 0.2 * p.values[13] - 0.1 * Swift.abs(p.values[12] - 0.5) }
        var h = NAGOBayesianOptimisation.Hyperparameters()
        h.initialSamples = 4; h.candidates = 100; h.localCandidates = 20
        func run(_ o: inout NAGOBayesianOptimisation, _ n: Int) throws -> [NAGOParameters] {
            var out: [NAGOParameters] = []
            for _ in 0..<n {
                let (p, _) = o.ask()
                out.append(p)
                try o.tell(accuracy: fakeAccuracy(p))
            }
            return out
        }
        var a = try NAGOBayesianOptimisation(hyperparameters: h, inputChannels: 1, classes: 10, seed: 1)
        let full = try run(&a, 10)
        var b = try NAGOBayesianOptimisation(hyperparameters: h, inputChannels: 1, classes: 10, seed: 1)
        var part = try run(&b, 6)
        _ = b.ask()  // a pending ask survives the restore
        var restored = try NAGOBayesianOptimisation(state: try b.state())
        part += try run(&restored, 4)
        XCTAssertEqual(part, full)
        XCTAssertEqual(restored.trials.count, 10)
        XCTAssertThrowsError(try NAGOBayesianOptimisation(state: Data("{}".utf8)))
    }
}
