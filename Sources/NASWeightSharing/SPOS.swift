import Foundation
import NASData
import NASNN
import NASSpaces
import NASStrategies
import NASTensor

/// Single-path one-shot NAS (Guo et al., ECCV 2020): every weight step trains one path drawn
/// uniformly (one op per edge), so all paths share the weights fairly; afterwards an
/// evolutionary search scores candidate paths by their accuracy on the architecture half after
/// recalibrating batch-norm statistics for each candidate.
public enum SPOS {
    /// One epoch of uniform single-path training of `st` (on `labels` instead of the weight half
    /// if given: RLNAS's random labels).
    static func trainEpoch(_ s: WeightSharingSearch, _ st: SupernetState, stage: String, epoch: Int, epochs: Int,
                           peak: Float, labels: Dataset? = nil) -> String {
        st.weightOptimizer.learningRate = s.weightLearningRate(epoch: epoch, of: epochs, peak: peak)
        var rng = s.generator(stage: stage, epoch: epoch)
        let (wb, _) = s.batches(stage: stage, epoch: epoch, labels: labels)
        var lossSum: Float = 0, correct = 0, seen = 0
        for batch in wb {
            let cell = st.space.uniform(mask: st.net.mask, using: &rng)
            let (l, c) = st.weightStep(batch, mode: .path(cell), gradClip: s.config.gradClip)
            lossSum += l * Float(batch.labels.count); correct += c; seen += batch.labels.count
        }
        return String(format: "loss %.4f acc %.2f%%", lossSum / Float(max(seen, 1)), 100 * Double(correct) / Double(max(seen, 1)))
    }

    /// One SPOS search per restart (restart 0 is the plain run; restart r > 0 has its own
    /// initialisation, batch order and evolution); the cell with the best fitness — recalibrated
    /// accuracy on the architecture half in its own supernet — wins.
    static func search(_ s: WeightSharingSearch) throws -> (ArchitectureChoices, Double, String) {
        let calibration = s.calibrationBatches(), evaluation = s.evaluationSet()
        var best: ChoiceEvolution.Outcome? = nil
        for r in 0..<s.config.restarts {
            let (stage, st) = s.restart(r)
            try s.runStage(stage, epochs: s.config.epochs) { e in
                trainEpoch(s, st, stage: stage, epoch: e, epochs: s.config.epochs, peak: s.config.weightLearningRate)
            }
            let found = try s.evolve(st.net, mask: st.net.mask, stage: r == 0 ? "evolution" : "evolution\(r)") { cell in
                PathEvaluation.score(st.net, cell: cell, calibration: calibration, data: evaluation)
            }
            s.log?("evolution\(r == 0 ? "" : " of restart \(r)"): \(found.evaluated) candidates scored, best \(s.describe(found.architecture)) "
                   + String(format: "%.4f", found.fitness))
            if best == nil || found.fitness > best!.fitness { best = found }
        }
        guard let best else { throw WeightSharingError.badConfig("restarts must be at least 1") }
        return (best.architecture, best.fitness, "supernet accuracy on the architecture half")
    }
}
