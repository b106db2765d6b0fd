import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// RLNAS (Zhang et al., CVPR 2021): the supernet is trained SPOS-style on the weight half with
/// labels replaced by random ones; paths are then ranked by the angle between their weight
/// vector at initialisation and after training (ABS's metric: the further a path's weights
/// moved, the better), and SPOS's evolutionary search maximises that angle — no labels and no
/// forward passes in the search.
///
/// A path's vector concatenates the weights every path shares (stem, reductions, classifier)
/// and, in each cell, the weights of the chosen op on each edge. Parameter-free ops contribute
/// fixed, untrained weights, so they add to both vectors alike: skip-connect an identity 1×1
/// kernel and 3×3 average pooling a uniform 1/9 depthwise kernel; `none` contributes nothing.
/// A cell with no path from its input to its output computes a constant and gets angle 0.
public enum RLNAS {
    /// Angle (radians) between two vectors given as lists of tensors.
    public static func angle(_ a: [Tensor], _ b: [Tensor]) -> Double {
        precondition(a.count == b.count, "angle: \(a.count) and \(b.count) tensors")
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) {
            precondition(x.count == y.count, "angle: tensors of \(x.count) and \(y.count) values")
            for j in 0..<x.count {
                let u = Double(x[flat: j]), v = Double(y[flat: j])
                dot += u * v; na += u * u; nb += v * v
            }
        }
        guard na > 0, nb > 0 else { return 0 }
        return acos(max(-1, min(1, dot / (na.squareRoot() * nb.squareRoot()))))
    }

    /// Whether node 3 is reachable from node 0 through edges that are not `none`.
    public static func isConnected(_ cell: NB201Cell) -> Bool {
        var reach = [true, false, false, false]
        for (e, edge) in NB201Cell.edges.enumerated() where cell[e] != .none && reach[edge.from] { reach[edge.to] = true }
        return reach[3]
    }

    /// The fixed stand-in weights of parameter-free ops for `channels` channels.
    static func fixedWeights(_ op: NB201Operation, channels c: Int) -> [Tensor] {
        switch op {
        case .skipConnect:
            return [Tensor(shape: [c, c], data: (0..<(c * c)).map { $0 / c == $0 % c ? 1 : 0 })]
        case .avgPool3x3:
            return [Tensor(repeating: 1.0 / 9, shape: [c, 9])]
        case .none, .conv1x1, .conv3x3:
            return []
        }
    }

    /// The path vector of `cell` in `net` (see the type's documentation).
    public static func pathVector(_ net: NB201Supernet, _ cell: NB201Cell) -> [Tensor] {
        var out = net.sharedParameters()
        for c in net.cells {
            let channels = c.mixedOp(0).conv1x1.conv.weight.shape[0]
            for e in 0..<NB201Cell.edgeCount {
                out += c.mixedOp(e).parameters(of: cell[e]) + fixedWeights(cell[e], channels: channels)
            }
        }
        return out
    }

    /// The angle metric of `cell` between an initial and a trained supernet.
    public static func angleMetric(initial: NB201Supernet, trained: NB201Supernet, cell: NB201Cell) -> Double {
        guard isConnected(cell) else { return 0 }
        return angle(pathVector(initial, cell), pathVector(trained, cell))
    }

    static func search(_ s: WeightSharingSearch) throws -> (NB201Cell, Double, String) {
        let st = s.state("main")
        let randomLabels = s.data.weightHalf.withRandomLabels(seed: s.seed &+ 0xB1A5)
        try s.runStage("main", epochs: s.config.epochs) { e in
            SPOS.trainEpoch(s, st, stage: "main", epoch: e, epochs: s.config.epochs, peak: s.config.weightLearningRate, labels: randomLabels)
        }
        let initial = s.freshState().net
        var rng = s.generator(stage: "evolution", epoch: 0)
        let best = Evolution.search(population: s.config.anglePopulation, generations: s.config.angleGenerations,
                                    parents: s.config.parents, mutationProbability: s.config.mutationProbability,
                                    mask: st.net.edgeMask, using: &rng) { cell in
            angleMetric(initial: initial, trained: st.net, cell: cell)
        }
        s.log?("angle evolution: \(best.evaluated) candidates scored")
        return (best.cell, best.fitness, "angle (rad)")
    }
}
