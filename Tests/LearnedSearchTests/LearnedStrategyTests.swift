import Foundation
import XCTest
@testable import NASStrategies
@testable import NASNN
import NASSpaces
import NASTensor

/// A smooth synthetic objective on NB201 cells (a fixed per-edge, per-op score), so strategy
/// tests need no table.
func syntheticObjective(_ cell: NB201Cell) -> Double {
    let score: [Double] = [0, 1, 2.5, 4, 1.5]
    return zip(cell.ops, [1.0, 1.2, 0.8, 1.1, 0.9, 1.3]).reduce(60) { $0 + score[$1.0.rawValue] * $1.1 }
}

/// Runs `steps` ask/tell rounds of a strategy on the synthetic objective; returns the proposals.
func drive<S: Strategy<NB201SearchSpace>>(_ s: inout S, steps: Int) throws -> [NB201Cell] {
    var out: [NB201Cell] = []
    for _ in 0..<steps {
        let p = try s.ask()
        out.append(p.architecture)
        try s.tell(Observation(architecture: p.architecture, fidelity: nil, objective: syntheticObjective(p.architecture), cost: 1))
    }
    return out
}

final class NAOTests: XCTestCase {
    let space = NB201SearchSpace()

    /// Trained jointly, the decoder reconstructs the training architectures from their embeddings.
    func testEncoderDecoderReconstructs() {
        var rng = SeededGenerator(seed: 11)
        let layout = TokenLayout(counts: space.choiceCounts)
        let model = NAOModel(layout: layout, embeddingSize: 16, hiddenSize: 24, predictorWidth: 32, using: &rng)
        let cells = (0..<24).map { _ in space.sample(using: &rng) }
        let choices = cells.map { space.choices(of: $0) }
        let ys = Tensor(shape: [cells.count, 1], data: cells.map { Float((syntheticObjective($0) - 70) / 5) })
        let optimizer = Adam(model.parameters(), lr: 0.01)
        var firstLoss: Float = 0, lastLoss: Float = 0
        for step in 0..<300 {
            optimizer.zeroGrad()
            let z = model.encode(choices)
            let loss = 0.5 * mseLoss(model.predict(z), ys) + 0.5 * model.reconstructionLoss(z, choices)
            if step == 0 { firstLoss = loss.item }
            lastLoss = loss.item
            loss.backward()
            optimizer.step()
        }
        XCTAssertLessThan(lastLoss, firstLoss * 0.2)
        let decoded = model.decode(withoutGrad { model.encode(choices) })
        let exact = zip(decoded, choices).filter { $0 == $1 }.count
        XCTAssertGreaterThanOrEqual(exact, 22, "reconstructed \(exact) of \(choices.count)")
    }

    /// A small step along ∂f/∂z raises the predictor's output for every row.
    func testGradientAscentStepRaisesPrediction() {
        var rng = SeededGenerator(seed: 5)
        let model = NAOModel(layout: TokenLayout(counts: space.choiceCounts), embeddingSize: 8, hiddenSize: 12,
                             predictorWidth: 16, using: &rng)
        let choices = (0..<6).map { _ in space.choices(of: space.sample(using: &rng)) }
        let z = withoutGrad { model.encode(choices) }
        let g = model.ascentDirection(z)
        XCTAssertEqual(g.shape, z.shape)
        let before = withoutGrad { model.predict(z) }.array
        let after = withoutGrad { model.predict(z + 0.05 * g) }.array
        for (a, b) in zip(after, before) { XCTAssertGreaterThan(a, b) }
    }

    func testDeterministicAndResumable() throws {
        var h = NAO<NB201SearchSpace>.Hyperparameters()
        h.firstEpochs = 30; h.epochs = 10; h.proposalsPerRound = 5
        h.exhaustiveShare = 0.6  // both sources: ascent and the exhaustive ranking
        var a = try NAO(space: space, hyperparameters: h, seed: 3)
        var b = try NAO(space: space, hyperparameters: h, seed: 3)
        let full = try drive(&a, steps: 30)
        XCTAssertEqual(full, try drive(&b, steps: 30))
        XCTAssertEqual(Set(full).count, full.count, "no architecture proposed twice")
        // Stop after 17 trials (mid-round), restore from the state, continue.
        var c = try NAO(space: space, hyperparameters: h, seed: 3)
        var resumedRun = try drive(&c, steps: 17)
        var restored = try NAO<NB201SearchSpace>(space: space, state: try c.state())
        XCTAssertNotNil(restored.weights)
        resumedRun += try drive(&restored, steps: 13)
        XCTAssertEqual(resumedRun, full)
        var other = try NAO(space: space, hyperparameters: h, seed: 4)
        XCTAssertNotEqual(try drive(&other, steps: 30), full)
    }

    /// The decoder of a model trained on a few labelled sequences only reproduces them, so the
    /// ascent finds (almost) nothing new; with unlabelled sequences in the reconstruction loss it
    /// decodes many architectures not evaluated yet.
    func testUnlabelledSequencesLetTheAscentFindNewArchitectures() throws {
        func poolSize(unlabelled: Int) throws -> Int {
            var h = NAO<NB201SearchSpace>.Hyperparameters()
            h.firstEpochs = 120; h.unlabelledSamples = unlabelled; h.ascentFromUnlabelled = false
            var s = try NAO(space: space, hyperparameters: h, seed: 2)
            _ = try drive(&s, steps: 11)  // ten random, then the first round trains the model
            return s.ascentCandidates(try s.currentModel()).count
        }
        let labelledOnly = try poolSize(unlabelled: 0), semi = try poolSize(unlabelled: 300)
        XCTAssertGreaterThanOrEqual(semi, 10, "pool \(semi) with unlabelled sequences")
        XCTAssertGreaterThan(semi, 3 * labelledOnly, "pools \(labelledOnly) vs \(semi)")
    }

    /// Rank targets: order kept, ties share their mean rank, range [−√3, √3] whatever the tail.
    func testRankTargets() {
        let t = NAO<NB201SearchSpace>.rankTargets([10, 93, 94, 93, 1])
        let r3 = Float(3).squareRoot()
        XCTAssertEqual(t[4], -r3, accuracy: 1e-6)
        XCTAssertEqual(t[2], r3, accuracy: 1e-6)
        XCTAssertEqual(t[1], t[3])
        XCTAssertEqual(t[1], (2.5 / 4 - 0.5) * 2 * r3, accuracy: 1e-6)
        XCTAssertLessThan(t[0], t[1])
        XCTAssertEqual(NAO<NB201SearchSpace>.rankTargets([5]), [0])
    }

    /// On the synthetic objective, pure NAO (gradient ascent only) finds better than its random start.
    func testFindsBetterThanRandomStart() throws {
        var h = NAO<NB201SearchSpace>.Hyperparameters()
        h.firstEpochs = 60; h.epochs = 20; h.exhaustiveShare = 0
        var s = try NAO(space: space, hyperparameters: h, seed: 1)
        let proposals = try drive(&s, steps: 30)
        let random = proposals.prefix(10).map(syntheticObjective).max() ?? 0
        let learned = proposals.dropFirst(10).map(syntheticObjective).max() ?? 0
        XCTAssertGreaterThan(learned, random)
    }
}

final class CTNASTests: XCTestCase {
    let space = NB201SearchSpace()

    func testNB201CellGraph() {
        let g = space.cellGraph(of: NB201Cell(code: 1234))
        XCTAssertEqual(g.nodeCount, 8)
        XCTAssertEqual(g.nodeTypes.first, 0)
        XCTAssertEqual(g.nodeTypes.last, 1)
        XCTAssertEqual(Array(g.nodeTypes[1...6]), NB201Cell(code: 1234).ops.map { $0.rawValue + 2 })
        // input→(1←0, 2←0, 3←0); 2←1 and 3←1 read 1←0; 3←2 reads 2←0 and 2←1; output reads the three 3←· edges.
        XCTAssertEqual(g.edges.count, 3 + 1 + 1 + 2 + 3)
        for e in g.edges { XCTAssertLessThan(e.from, e.to) }
        let a = g.normalisedAdjacency()
        for i in 0..<8 { for j in 0..<8 { XCTAssertEqual(a[i * 8 + j], a[j * 8 + i], accuracy: 1e-7) } }
    }

    func testComparatorShapes() {
        var rng = SeededGenerator(seed: 2)
        let model = Comparator(typeCount: space.graphNodeTypeCount, gcnWidth: 16, mlpWidth: 8, using: &rng)
        let graphs = (0..<5).map { _ in space.cellGraph(of: space.sample(using: &rng)) }
        let e = model.embed(graphs)
        XCTAssertEqual(e.shape, [5, 16])
        XCTAssertEqual(model.compare(e, e).shape, [5, 1])
    }

    /// Trained on 30 labelled cells, the comparator orders held-out pairs far better than chance.
    func testComparatorLearnsOrdering() throws {
        var h = CTNASHyperparameters()
        h.firstEpochs = 150
        var s = try CTNAS(space: space, hyperparameters: h, seed: 9)
        var rng = SeededGenerator(seed: 99)
        for _ in 0..<30 {
            let a = space.sample(using: &rng)
            try s.tell(Observation(architecture: a, fidelity: nil, objective: syntheticObjective(a), cost: 1))
        }
        let model = try s.currentComparator()
        s.trainComparator(model, steps: h.firstEpochs)
        var correct = 0, total = 0
        for _ in 0..<200 {
            let a = space.sample(using: &rng), b = space.sample(using: &rng)
            let ya = syntheticObjective(a), yb = syntheticObjective(b)
            if Swift.abs(ya - yb) < 1 { continue }
            let p = s.probabilitiesBetter(model, [a], than: b)[0]
            if (p > 0.5) == (ya > yb) { correct += 1 }
            total += 1
        }
        XCTAssertGreaterThan(Double(correct) / Double(total), 0.8, "\(correct)/\(total)")
    }

    func testDeterministicAndResumable() throws {
        var h = CTNASHyperparameters()
        h.firstEpochs = 30; h.epochs = 10; h.controllerSteps = 5
        var a = try CTNAS(space: space, hyperparameters: h, seed: 3)
        var b = try CTNAS(space: space, hyperparameters: h, seed: 3)
        let full = try drive(&a, steps: 30)
        XCTAssertEqual(full, try drive(&b, steps: 30))
        XCTAssertEqual(Set(full).count, full.count)
        var c = try CTNAS(space: space, hyperparameters: h, seed: 3)
        var resumedRun = try drive(&c, steps: 13)
        var restored = try CTNAS<NB201SearchSpace>(space: space, state: try c.state())
        resumedRun += try drive(&restored, steps: 17)
        XCTAssertEqual(resumedRun, full)
        // The baseline is the best labelled architecture.
        let best = try XCTUnwrap(full.max { syntheticObjective($0) < syntheticObjective($1) })
        XCTAssertEqual(restored.baseline.map(syntheticObjective), syntheticObjective(best))
    }

    /// REINFORCE on the LSTM controller with a reward counting the decisions equal to a target
    /// cell moves its greedy choice to that cell, and its samples concentrate there.
    func testControllerLearnsFromReward() {
        let layout = TokenLayout(counts: space.choiceCounts)
        var rng = SeededGenerator(seed: 9)
        let controller = LSTMController(layout: layout, embeddingSize: 8, hiddenSize: 16, using: &rng)
        let target = [3, 1, 4, 0, 2, 3]
        func reward(_ c: [Int]) -> Double { Double(zip(c, target).filter { $0 == $1 }.count) / 6 }
        let before = controller.sample(64, using: &rng).map(reward).reduce(0, +) / 64
        let optimizer = Adam(controller.parameters(), lr: 0.05)
        for _ in 0..<60 {
            let samples = controller.sample(32, using: &rng)
            let r = samples.map(reward)
            let mean = r.reduce(0, +) / Double(r.count)
            optimizer.zeroGrad()
            controller.policyGradientLoss(samples, weights: r.map { Float(($0 - mean) / 32) }, entropyWeight: 0.001).backward()
            optimizer.step()
        }
        let after = controller.sample(64, using: &rng).map(reward).reduce(0, +) / 64
        XCTAssertEqual(controller.sample(1, greedy: true, using: &rng)[0], target)
        XCTAssertLessThan(before, 0.35)
        XCTAssertGreaterThan(after, 0.9)
    }
}
