import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// Few-shot NAS (Zhao et al., ICML 2021): the one-shot supernet is trained first; then one edge
/// (`split_edge`) is split into five sub-supernets, sub-supernet k keeping only op k on that
/// edge. Each starts from the trained one-shot weights (and α) and is fine-tuned in turn
/// (`few_shot_epochs` each, cosine from half the peak rate). The base method then runs on top:
/// - DARTS: each sub-supernet keeps training its own α; each gives its argmax cell (op k on
///   the split edge) and the cell with the best recalibrated accuracy in its own sub-supernet on
///   the architecture half is returned.
/// - SPOS: sub-supernets train uniform single paths; the evolutionary search scores a cell in
///   the sub-supernet that owns its op on the split edge.
public enum FewShot {
    public enum Base { case darts, spos }

    static func subName(_ k: Int) -> String { "sub\(k)" }

    static func search(_ s: WeightSharingSearch, base: Base) throws -> (NB201Cell, Double, String) {
        let c = s.config
        let main = s.state("main")
        try s.runStage("main", epochs: c.epochs, health: base == .darts ? DARTS.healthProbe(main) : nil) { e in
            switch base {
            case .darts: return DARTS.trainEpoch(s, main, stage: "main", epoch: e, epochs: c.epochs, peak: c.weightLearningRate, secondOrder: false)
            case .spos: return SPOS.trainEpoch(s, main, stage: "main", epoch: e, epochs: c.epochs, peak: c.weightLearningRate)
            }
        }
        var subs: [SupernetState] = []
        for k in 0..<5 {
            let name = subName(k)
            let isNew = s.states[name] == nil
            let sub = s.state(name)
            if isNew { try sub.copyWeights(from: main) }
            sub.net.edgeMask[c.splitEdge] = (0..<5).map { $0 == k }
            try s.runStage(name, epochs: c.fewShotEpochs, health: base == .darts ? DARTS.healthProbe(sub) : nil) { e in
                switch base {
                case .darts: return DARTS.trainEpoch(s, sub, stage: name, epoch: e, epochs: c.fewShotEpochs, peak: c.weightLearningRate / 2, secondOrder: false)
                case .spos: return SPOS.trainEpoch(s, sub, stage: name, epoch: e, epochs: c.fewShotEpochs, peak: c.weightLearningRate / 2)
                }
            }
            subs.append(sub)
        }
        let calibration = s.calibrationBatches(), evaluation = s.evaluationSet()
        func score(_ cell: NB201Cell) -> Double {
            PathEvaluation.score(subs[cell[c.splitEdge].rawValue].net, cell: cell, calibration: calibration, data: evaluation)
        }
        switch base {
        case .darts:
            var best: (NB201Cell, Double)? = nil
            for sub in subs {
                let cell = DARTS.discretize(sub.alpha, mask: sub.net.edgeMask)
                let acc = score(cell)
                s.log?("sub-supernet \(cell[c.splitEdge]): \(cell) accuracy \(String(format: "%.4f", acc))")
                if best == nil || acc > best!.1 { best = (cell, acc) }
            }
            return (best!.0, best!.1, "sub-supernet accuracy on the architecture half")
        case .spos:
            let all = Array(repeating: Array(repeating: true, count: 5), count: NB201Cell.edgeCount)
            var rng = s.generator(stage: "evolution", epoch: 0)
            let best = Evolution.search(population: c.population, generations: c.generations, parents: c.parents,
                                        mutationProbability: c.mutationProbability, mask: all, using: &rng, fitness: score)
            s.log?("evolution: \(best.evaluated) candidates scored")
            return (best.cell, best.fitness, "sub-supernet accuracy on the architecture half")
        }
    }
}
