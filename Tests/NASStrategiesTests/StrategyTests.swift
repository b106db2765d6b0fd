import Foundation
import NASSpaces
@testable import NASStrategies
import NASTensor
import XCTest

final class StrategyTests: XCTestCase {
    let space = NB201SearchSpace()

    var smallBananas: Bananas<NB201SearchSpace>.Hyperparameters {
        var h = Bananas<NB201SearchSpace>.Hyperparameters()
        h.ensembleSize = 2
        h.epochs = 15
        h.candidates = 30
        return h
    }

    func testEveryStrategyIsSeededAndResumesFromItsState() throws {
        try assertStateRoundTrip({ try RandomSearch(space: space, seed: 3) }, steps: 40, split: 17)
        try assertStateRoundTrip({ try RegularizedEvolution(space: space, seed: 3) }, steps: 60, split: 23)
        try assertStateRoundTrip({ try Reinforce(space: space, seed: 3) }, steps: 60, split: 31)
        try assertStateRoundTrip({ try LocalSearch(space: space, seed: 3) }, steps: 80, split: 41)
        // Right after the first ask, before any value is known (the state holds -infinity).
        var fresh = try LocalSearch(space: space, seed: 3)
        let firstAsk = try fresh.ask()
        var restored = try LocalSearch(space: space, state: try fresh.state())
        XCTAssertEqual(try restored.state(), try fresh.state())
        try restored.tell(Observation(architecture: firstAsk.architecture, fidelity: nil, objective: 1, cost: 1))
        try assertStateRoundTrip({ try Bananas(space: space, hyperparameters: smallBananas, seed: 3) }, steps: 35, split: 15)
        try assertStateRoundTrip({ try Hyperband(space: space, seed: 3) }, steps: 40, split: 9)
        var bohb = Hyperband<NB201SearchSpace>.Hyperparameters()
        bohb.sampler = .kde
        try assertStateRoundTrip({ try Hyperband(space: space, hyperparameters: bohb, seed: 3) }, steps: 80, split: 47)
        // Different seeds give different searches.
        var a = try RegularizedEvolution(space: space, seed: 1), b = try RegularizedEvolution(space: space, seed: 2)
        XCTAssertNotEqual(try drive(&a, steps: 20), try drive(&b, steps: 20))
    }

    func testRandomSearchDoesNotRepeat() throws {
        var s = try RandomSearch(space: space, seed: 0)
        let proposals = try drive(&s, steps: 500)
        XCTAssertEqual(Set(proposals.map(\.architecture)).count, 500)
    }

    func testRegularizedEvolutionAgesOutTheOldest() throws {
        var s = try RegularizedEvolution(space: space, seed: 5)
        let proposals = try drive(&s, steps: 25)
        // The queue holds the last ten evaluated architectures, oldest first — good or not.
        XCTAssertEqual(s.population.map(\.architecture), proposals.suffix(10).map(\.architecture))
        // Each proposal after the ten founders is one mutation away from an architecture that
        // was in the queue when it was made.
        for i in 10..<25 {
            let queue = proposals[(i - 10)..<i].map(\.architecture)
            XCTAssertTrue(queue.contains { space.neighbors(of: $0).contains(proposals[i].architecture) }, "proposal \(i)")
        }
        XCTAssertThrowsError(try RegularizedEvolution<NB201SearchSpace>(space: space, hyperparameters: {
            var h = RegularizedEvolution<NB201SearchSpace>.Hyperparameters(); h.sampleSize = 11; return h }(), seed: 0))
    }

    func testEvolutionLocalSearchAndReinforceClimbTheSyntheticObjective() throws {
        var rea = try RegularizedEvolution(space: space, seed: 0)
        XCTAssertEqual(try drive(&rea, steps: 300).map { syntheticObjective($0.architecture) }.max(), 6)

        var ls = try LocalSearch(space: space, seed: 0)
        XCTAssertEqual(try drive(&ls, steps: 200).map { syntheticObjective($0.architecture) }.max(), 6)

        var rl = try Reinforce(space: space, seed: 0)
        try drive(&rl, steps: 400)
        // The policy has learned to prefer conv3x3 on every edge.
        for p in rl.probabilities {
            XCTAssertEqual(p.indices.max { p[$0] < p[$1] }, NB201Operation.conv3x3.rawValue)
        }
    }

    func testBananasBeatsRandomOnTheSyntheticObjective() throws {
        var bananas = try Bananas(space: space, hyperparameters: smallBananas, seed: 1)
        var random = try RandomSearch(space: space, seed: 1)
        let b = try drive(&bananas, steps: 40).map { syntheticObjective($0.architecture) }
        let r = try drive(&random, steps: 40).map { syntheticObjective($0.architecture) }
        XCTAssertGreaterThan(b.suffix(20).reduce(0, +), r.suffix(20).reduce(0, +))
    }

    func testHyperbandRunsSuccessiveHalvingOverTheRungs() throws {
        var hb = try Hyperband(space: space, seed: 0)
        let proposals = try drive(&hb, steps: 11)
        // Bracket s=1: three at 12 epochs, the best goes on to 200; bracket s=0: two at 200.
        XCTAssertEqual(proposals.map { $0.fidelity?.epochs }, [12, 12, 12, 200, 200, 200, 12, 12, 12, 200, 200])
        let first3 = proposals[0..<3].map(\.architecture)
        let promoted = first3.max { syntheticObjective($0) * 0.8 + Double($0.code % 7) * 0.01 < syntheticObjective($1) * 0.8 + Double($1.code % 7) * 0.01 }
        XCTAssertEqual(proposals[3].architecture, promoted)
    }

    func testTinyMLPLearnsAnAdditiveFunction() {
        var rng = SeededGenerator(seed: 4)
        var xs: [[Float]] = [], ys: [Float] = []
        for _ in 0..<200 {
            let x = (0..<10).map { _ in rng.nextFloat() < 0.3 ? Float(1) : 0 }
            xs.append(x)
            ys.append(x.enumerated().reduce(0) { $0 + $1.element * Float($1.offset % 3) } - 1)
        }
        let inputs = xs.map(TinyMLP.SparseInput.init)
        var net = TinyMLP(sizes: [10, 16, 16, 1], rng: &rng)
        func mse() -> Float { zip(inputs, ys).reduce(0) { $0 + ($1.1 - net.predict($1.0)) * ($1.1 - net.predict($1.0)) } / Float(ys.count) }
        let before = mse()
        net.train(inputs: inputs, targets: ys, epochs: 60, batchSize: 16, learningRate: 0.01, rng: &rng)
        XCTAssertLessThan(mse(), before / 20)
        XCTAssertLessThan(mse(), 0.05)
    }
}
