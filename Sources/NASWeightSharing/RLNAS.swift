import Foundation
import NASData
import NASNN
import NASSpaces
import NASStrategies
import NASTensor

/// RLNAS (Zhang et al., CVPR 2021): the supernet is trained SPOS-style on the weight half with
/// labels replaced by random ones; paths are then ranked by the angle between their weight
/// vector at initialisation and after training (ABS's metric: the further a path's weights
/// moved, the better), and SPOS's evolutionary search maximises that angle — no labels and no
/// forward passes in the search.
///
/// A path's vector (`Supernet.pathVector`) concatenates the weights every path shares (stem,
/// reductions, classifier) and, in each cell, the weights of the chosen op on each edge.
/// Parameter-free ops contribute fixed, untrained weights (`Operation.standInWeights`), so they
/// add to both vectors alike: skip-connect an identity 1×1 kernel and 3×3 average pooling a
/// uniform 1/9 depthwise kernel; `none` and max pooling contribute nothing. An architecture
/// with no path from its input to its output computes a constant and gets angle 0.
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

    /// The angle metric of `cell` between an initial and a trained supernet.
    public static func angleMetric(initial: any Supernet, trained: any Supernet, cell: ArchitectureChoices) -> Double {
        guard trained.isConnected(cell) else { return 0 }
        return angle(initial.pathVector(cell), trained.pathVector(cell))
    }

    static func search(_ s: WeightSharingSearch) throws -> (ArchitectureChoices, Double, String) {
        let st = s.state("main")
        let randomLabels = s.data.weightHalf.withRandomLabels(seed: s.seed &+ 0xB1A5)
        try s.runStage("main", epochs: s.config.epochs) { e in
            SPOS.trainEpoch(s, st, stage: "main", epoch: e, epochs: s.config.epochs, peak: s.config.weightLearningRate, labels: randomLabels)
        }
        let initial = s.freshState().net
        let best = try s.evolve(st.net, mask: st.net.mask, stage: "evolution", population: s.config.anglePopulation,
                                generations: s.config.angleGenerations) { cell in
            angleMetric(initial: initial, trained: st.net, cell: cell)
        }
        s.log?("angle evolution: \(best.evaluated) candidates scored")
        return (best.architecture, best.fitness, "angle (rad)")
    }
}
