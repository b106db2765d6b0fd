import Foundation
import NASData
import NASNN
import NASSpaces
import NASStrategies
import NASTensor

/// Few-shot NAS (Zhao et al., ICML 2021): the one-shot supernet is trained first; then one
/// decision (`split_edge`, a row of α) is split into one sub-supernet per candidate a fixed
/// architecture may hold (NAS-Bench-201: five; DARTS: seven, `none` excluded), sub-supernet k
/// keeping only candidate k on it. Each starts from the trained one-shot weights (and α) and is fine-tuned in turn
/// (`few_shot_epochs` each, cosine from half the peak rate). The base method then runs on top:
/// - DARTS: each sub-supernet keeps training its own α; each gives its argmax cell (op k on
///   the split edge) and the cell with the best recalibrated accuracy in its own sub-supernet on
///   the architecture half is returned.
/// - SPOS: sub-supernets train uniform single paths; the evolutionary search scores a cell in
///   the sub-supernet that owns its op on the split edge.
public enum FewShot {
    public enum Base { case darts, spos }

    static func subName(_ k: Int) -> String { "sub\(k)" }

    static func search(_ s: WeightSharingSearch, base: Base) throws -> (ArchitectureChoices, Double, String) {
        let c = s.config
        let main = s.state("main")
        try s.runStage("main", epochs: c.epochs, health: base == .darts ? DARTS.healthProbe(main) : nil) { e in
            switch base {
            case .darts: return DARTS.trainEpoch(s, main, stage: "main", epoch: e, epochs: c.epochs, peak: c.weightLearningRate, secondOrder: false)
            case .spos: return SPOS.trainEpoch(s, main, stage: "main", epoch: e, epochs: c.epochs, peak: c.weightLearningRate)
            }
        }
        let split = c.splitEdge
        let splitDecision = main.space.rows[split]
        let candidates = (0..<main.space.width).filter { main.space.discrete(main.net.mask)[split][$0] }
        var subs: [Int: SupernetState] = [:]
        for k in candidates {
            let name = subName(k)
            let isNew = s.states[name] == nil
            let sub = s.state(name)
            if isNew { try sub.copyWeights(from: main) }
            sub.net.mask[split] = (0..<main.space.width).map { $0 == k }
            try s.runStage(name, epochs: c.fewShotEpochs, health: base == .darts ? DARTS.healthProbe(sub) : nil) { e in
                switch base {
                case .darts: return DARTS.trainEpoch(s, sub, stage: name, epoch: e, epochs: c.fewShotEpochs, peak: c.weightLearningRate / 2, secondOrder: false)
                case .spos: return SPOS.trainEpoch(s, sub, stage: name, epoch: e, epochs: c.fewShotEpochs, peak: c.weightLearningRate / 2)
                }
            }
            subs[k] = sub
        }
        let calibration = s.calibrationBatches(), evaluation = s.evaluationSet()
        // An architecture belongs to the sub-supernet of its candidate on the split decision; one
        // that does not use the split decision (a DARTS edge no node keeps) to the first.
        func owner(_ cell: ArchitectureChoices) -> SupernetState {
            subs[cell.choices[splitDecision][0]] ?? candidates.lazy.compactMap { subs[$0] }.first ?? main
        }
        func score(_ cell: ArchitectureChoices) -> Double {
            PathEvaluation.score(owner(cell).net, cell: cell, calibration: calibration, data: evaluation)
        }
        switch base {
        case .darts:
            var best: (ArchitectureChoices, Double)? = nil
            for k in candidates {
                guard let sub = subs[k] else { continue }
                let cell = DARTS.discretize(sub)
                // Scored in its own sub-supernet (in DARTS's space the split edge may end unused).
                let acc = PathEvaluation.score(sub.net, cell: cell, calibration: calibration, data: evaluation)
                s.log?("sub-supernet \(main.space.decisions[splitDecision].candidates[k]): \(s.describe(cell)) accuracy \(String(format: "%.4f", acc))")
                if acc > best?.1 ?? -.infinity { best = (cell, acc) }
            }
            guard let best else { throw WeightSharingError.badConfig("split_edge \(split) has no candidate to split on") }
            return (best.0, best.1, "sub-supernet accuracy on the architecture half")
        case .spos:
            let best = try s.evolve(main.net, mask: main.net.mask, stage: "evolution", fitness: score)
            s.log?("evolution: \(best.evaluated) candidates scored")
            return (best.architecture, best.fitness, "sub-supernet accuracy on the architecture half")
        }
    }
}
