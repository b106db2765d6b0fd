import Foundation
import NASSpaces
import NASStrategies
import XCTest

/// A synthetic objective with a known optimum, so strategy tests need no table: the number of
/// `nor_conv_3x3` edges, plus a small tie-breaking bonus for `skip_connect` on edge 3.
func syntheticObjective(_ cell: NB201Cell) -> Double {
    Double(cell.ops.filter { $0 == .conv3x3 }.count) + (cell[3] == .skipConnect ? 0.5 : 0)
}

/// Runs `steps` ask/tell rounds against the synthetic objective (fidelity epochs as cost).
@discardableResult
func drive<S: Strategy>(_ s: inout S, steps: Int) throws -> [Proposal<NB201Cell>] where S.Space == NB201SearchSpace {
    var out: [Proposal<NB201Cell>] = []
    for _ in 0..<steps {
        let p = try s.ask()
        out.append(p)
        // Lower fidelities see a noisier, shrunk version of the objective, like 12-epoch training.
        let epochs = p.fidelity?.epochs ?? 200
        let value = syntheticObjective(p.architecture) * (epochs >= 200 ? 1 : 0.8) + Double(p.architecture.code % 7) * 0.01
        try s.tell(Observation(architecture: p.architecture, fidelity: p.fidelity, objective: value, cost: Double(epochs)))
    }
    return out
}

/// Checks the resume contract: a strategy restored from `state()` after `split` steps proposes
/// exactly what the uninterrupted one proposes.
func assertStateRoundTrip<S: Strategy>(_ make: () throws -> S, steps: Int, split: Int,
                                       file: StaticString = #filePath, line: UInt = #line) throws where S.Space == NB201SearchSpace {
    var whole = try make()
    let expected = try drive(&whole, steps: steps)
    var first = try make()
    var got = try drive(&first, steps: split)
    var resumed = try S(space: NB201SearchSpace(), state: try first.state())
    got += try drive(&resumed, steps: steps - split)
    XCTAssertEqual(got, expected, "\(S.name) diverged after restoring its state", file: file, line: line)
}
