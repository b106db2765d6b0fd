import NASNN
import NASSpaces
import NASStrategies

/// GLiT (Chen et al., ICCV 2021): a supernet of global-local transformer blocks trained by
/// uniform single-path sampling (SPOS's training), then the paper's hierarchical evolutionary
/// search. Level one searches how each block splits its heads between global self-attention
/// and locality modules, with every dimension at its largest; level two searches the
/// dimensions (head dimension, kernel, expansion, MLP ratio) with level one's split fixed.
/// Both score a path by its accuracy on the architecture half after batch-norm recalibration;
/// the parameter bounds apply to level two, whose winner is the result.
enum GLiTSearch {
    static func search(_ s: WeightSharingSearch) throws -> (ArchitectureChoices, Double, String) {
        let st = s.state("main")
        guard let net = st.net as? GLiTSupernet else { throw WeightSharingError.badConfig("the glit method searches --space glit only") }
        try s.runStage("main", epochs: s.config.epochs) { e in
            SPOS.trainEpoch(s, st, stage: "main", epoch: e, epochs: s.config.epochs, peak: s.config.weightLearningRate)
        }
        let calibration = s.calibrationBatches(), evaluation = s.evaluationSet()
        let score = { (a: ArchitectureChoices) in PathEvaluation.score(net, cell: a, calibration: calibration, data: evaluation) }
        let space = net.space, levelOne = Set(net.levelOneDecisions)
        // Level one: the split decisions free, every other decision at its largest value.
        var mask = net.mask
        for (r, d) in space.rows.enumerated() where !levelOne.contains(d) {
            let last = space.decisions[d].candidates.count - 1
            mask[r] = mask[r].indices.map { $0 == last }
        }
        let split = try s.evolve(net, mask: mask, stage: "glit-level1", bounded: false, fitness: score)
        s.log?("glit level 1 (global/local split): \(split.evaluated) candidates scored, best \(s.describe(split.architecture)) "
               + String(format: "%.4f", split.fitness))
        // Level two: the split fixed, the dimensions free.
        mask = net.mask
        for (r, d) in space.rows.enumerated() where levelOne.contains(d) {
            let chosen = split.architecture.choices[d][0]
            mask[r] = mask[r].indices.map { $0 == chosen }
        }
        let found = try s.evolve(net, mask: mask, stage: "glit-level2", fitness: score)
        s.log?("glit level 2 (dimensions): \(found.evaluated) candidates scored, best \(s.describe(found.architecture)) "
               + String(format: "%.4f", found.fitness) + ", \(net.pathParameterCount(found.architecture) ?? 0) parameters")
        return (found.architecture, found.fitness, "supernet accuracy on the architecture half")
    }
}
