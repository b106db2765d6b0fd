import Foundation
import NASData
import NASNN
import NASSpaces
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
            let cell = Discretize.uniform(mask: st.net.edgeMask, using: &rng)
            let (l, c) = st.weightStep(batch, mode: .path(cell), gradClip: s.config.gradClip)
            lossSum += l * Float(batch.labels.count); correct += c; seen += batch.labels.count
        }
        return String(format: "loss %.4f acc %.2f%%", lossSum / Float(max(seen, 1)), 100 * Double(correct) / Double(max(seen, 1)))
    }

    /// One SPOS search per restart (restart 0 is the plain run; restart r > 0 has its own
    /// initialisation, batch order and evolution); the cell with the best fitness — recalibrated
    /// accuracy on the architecture half in its own supernet — wins.
    static func search(_ s: WeightSharingSearch) throws -> (NB201Cell, Double, String) {
        let calibration = s.calibrationBatches(), evaluation = s.evaluationSet()
        var best: Evolution.Outcome? = nil
        for r in 0..<s.config.restarts {
            let (stage, st) = s.restart(r)
            try s.runStage(stage, epochs: s.config.epochs) { e in
                trainEpoch(s, st, stage: stage, epoch: e, epochs: s.config.epochs, peak: s.config.weightLearningRate)
            }
            var rng = s.generator(stage: r == 0 ? "evolution" : "evolution\(r)", epoch: 0)
            let found = Evolution.search(population: s.config.population, generations: s.config.generations,
                                         parents: s.config.parents, mutationProbability: s.config.mutationProbability,
                                         mask: st.net.edgeMask, using: &rng) { cell in
                PathEvaluation.score(st.net, cell: cell, calibration: calibration, data: evaluation)
            }
            s.log?("evolution\(r == 0 ? "" : " of restart \(r)"): \(found.evaluated) candidates scored, best \(found.cell) "
                   + String(format: "%.4f", found.fitness))
            if best == nil || found.fitness > best!.fitness { best = found }
        }
        return (best!.cell, best!.fitness, "supernet accuracy on the architecture half")
    }
}

/// SPOS's evolutionary search: a random initial population, then each generation the top-k
/// seen so far breed half the new population by mutation (each edge re-drawn with
/// `mutationProbability`) and half by uniform crossover; duplicates are not re-evaluated.
public enum Evolution {
    public struct Outcome: Sendable {
        public var cell: NB201Cell
        public var fitness: Double
        public var evaluated: Int
    }

    public static func search(population: Int, generations: Int, parents: Int, mutationProbability: Float,
                              mask: [[Bool]], using rng: inout SeededGenerator,
                              fitness: (NB201Cell) -> Double) -> Outcome {
        var scores: [NB201Cell: Double] = [:]
        var order: [NB201Cell] = []
        func evaluate(_ c: NB201Cell) {
            guard scores[c] == nil else { return }
            scores[c] = fitness(c)
            order.append(c)
        }
        // At most as many distinct cells as the masked space holds.
        let spaceSize = mask.reduce(1) { $0 * $1.filter { $0 }.count }
        let target = min(population, spaceSize)
        var tries = 0
        while order.count < target && tries < 100 * population {
            evaluate(Discretize.uniform(mask: mask, using: &rng)); tries += 1
        }
        func top() -> [NB201Cell] {
            Array(order.sorted { (scores[$0]!, $1.code) > (scores[$1]!, $0.code) }.prefix(parents))
        }
        for _ in 0..<generations {
            let elite = top()
            var children: [NB201Cell] = []
            tries = 0
            while children.count < population && tries < 50 * population {
                tries += 1
                let child: NB201Cell
                if children.count < population / 2 {
                    let p = elite[Int(rng.next() % UInt64(elite.count))]
                    child = NB201Cell(ops: (0..<NB201Cell.edgeCount).map { e in
                        guard rng.nextFloat() < mutationProbability else { return p[e] }
                        let allowed = (0..<5).filter { mask[e][$0] }
                        return NB201Operation(rawValue: allowed[Int(rng.next() % UInt64(allowed.count))])!
                    })
                } else {
                    let a = elite[Int(rng.next() % UInt64(elite.count))], b = elite[Int(rng.next() % UInt64(elite.count))]
                    child = NB201Cell(ops: (0..<NB201Cell.edgeCount).map { rng.next() & 1 == 0 ? a[$0] : b[$0] })
                }
                if scores[child] == nil && !children.contains(child) { children.append(child) }
            }
            children.forEach(evaluate)
        }
        let best = top()[0]
        return Outcome(cell: best, fitness: scores[best]!, evaluated: order.count)
    }
}
