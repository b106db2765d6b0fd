import Foundation
import NASSpaces
@testable import NASStrategies
import NASTensor
import XCTest

final class ControllerReinforceTests: XCTestCase {
    let space = NB201SearchSpace()

    func testResumesFromItsStateAndIsSeeded() throws {
        try assertStateRoundTrip({ try ControllerReinforce(space: space, seed: 3) }, steps: 30, split: 13)
        var a = try ControllerReinforce(space: space, seed: 1), b = try ControllerReinforce(space: space, seed: 2)
        XCTAssertNotEqual(try drive(&a, steps: 10), try drive(&b, steps: 10))
    }

    /// One reward above the baseline makes the told architecture more likely, one below less.
    func testPolicyGradientMovesProbabilityTowardsBetterArchitectures() throws {
        var s = try ControllerReinforce(space: space, seed: 0)
        let a = try s.ask().architecture
        func probability(_ s: ControllerReinforce<NB201SearchSpace>) throws -> Double {
            zip(try s.probabilities(along: a), space.choices(of: a)).map { $0[$1] }.reduce(1, *)
        }
        try s.tell(Observation(architecture: a, fidelity: nil, objective: 50, cost: 1))   // sets the baseline: no step signal
        let p0 = try probability(s)
        try s.tell(Observation(architecture: a, fidelity: nil, objective: 90, cost: 1))
        let p1 = try probability(s)
        XCTAssertGreaterThan(p1, p0)
        try s.tell(Observation(architecture: a, fidelity: nil, objective: 0, cost: 1))
        XCTAssertLessThan(try probability(s), p1)
    }

    /// On the synthetic objective (count of conv3×3 edges) the controller learns to prefer conv3×3
    /// everywhere, as the per-edge REINFORCE does (with the default learning rate; at 0.02 the
    /// policy collapsed on avg_pool for one edge before it had tried conv3×3 enough).
    func testClimbsTheSyntheticObjective() throws {
        var s = try ControllerReinforce(space: space, seed: 0)
        let proposals = try drive(&s, steps: 400)
        let early = proposals.prefix(40).map { syntheticObjective($0.architecture) }.reduce(0, +) / 40
        let late = proposals.suffix(40).map { syntheticObjective($0.architecture) }.reduce(0, +) / 40
        XCTAssertGreaterThan(late, early + 2, "mean objective \(early) → \(late)")
        let best = NB201Cell(ops: Array(repeating: .conv3x3, count: 6))
        for p in try s.probabilities(along: best) {
            XCTAssertEqual(p.indices.max { p[$0] < p[$1] }, NB201Operation.conv3x3.rawValue)
        }
    }

    func testBadHyperparametersAndStatesAreRefused() throws {
        for change in [{ (h: inout ControllerReinforce<NB201SearchSpace>.Hyperparameters) in h.learningRate = 0 },
                       { $0.baselineMomentum = 1 }, { $0.entropyWeight = -1 }, { $0.hiddenSize = 0 }, { $0.embeddingSize = 5000 }] {
            var h = ControllerReinforce<NB201SearchSpace>.Hyperparameters()
            change(&h)
            XCTAssertThrowsError(try ControllerReinforce(space: space, hyperparameters: h, seed: 0))
        }
        var s = try ControllerReinforce(space: space, seed: 0)
        try drive(&s, steps: 3)
        let good = try s.state()
        var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: good) as? [String: Any])
        var weights = try XCTUnwrap(json["weights"] as? [String: Any])
        var values = try XCTUnwrap(weights["values"] as? [String: Any])
        values.removeValue(forKey: try XCTUnwrap(values.keys.sorted().first))
        weights["values"] = values
        json["weights"] = weights
        XCTAssertThrowsError(try ControllerReinforce<NB201SearchSpace>(space: space, state: JSONSerialization.data(withJSONObject: json)))
        XCTAssertThrowsError(try s.tell(Observation(architecture: try s.ask().architecture, fidelity: nil, objective: .nan, cost: 1)))
    }
}
