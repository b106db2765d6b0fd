import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// MdeNAS (Zheng et al., ICCV 2019): each edge carries a multinomial distribution over its ops.
/// Every weight step trains one path sampled from the distributions; the path is then scored on
/// an architecture-half batch. Per edge and op the search tracks H^e (how many steps the op was
/// trained) and H^a (the mean accuracy of the sampled paths that used it in the last epoch it
/// was sampled). After each epoch, by the performance-ranking hypothesis — an op trained less
/// but scoring higher than another is the better one — for every pair (i, j) on an edge:
/// p_i += lr if H^e_i < H^e_j and H^a_i > H^a_j, and p_i −= lr if H^e_i > H^e_j and
/// H^a_i < H^a_j; then p is clipped at 0 and renormalised. The cell is the argmax of p per edge.
public enum MdeNAS {
    /// The ranking update of one edge's probabilities (public for tests).
    public static func update(probabilities p: [Float], trainedSteps h: [Float], accuracy a: [Float], lr: Float) -> [Float] {
        var q = p
        for i in p.indices {
            for j in p.indices where j != i {
                if h[i] < h[j] && a[i] > a[j] { q[i] += lr }
                if h[i] > h[j] && a[i] < a[j] { q[i] -= lr }
            }
        }
        q = q.enumerated().map { p[$0.offset] == 0 ? 0 : max($0.element, 0) }
        let total = q.reduce(0, +)
        return total > 0 ? q.map { $0 / total } : p
    }

    static func sample(_ p: [Float], using rng: inout SeededGenerator) -> NB201Cell {
        NB201Cell(ops: (0..<NB201Cell.edgeCount).map { e in
            let u = rng.nextFloat()
            var acc: Float = 0, pick = 4
            for k in 0..<5 { acc += p[e * 5 + k]; if u < acc && p[e * 5 + k] > 0 { pick = k; break } }
            while p[e * 5 + pick] == 0 && pick > 0 { pick -= 1 }
            return NB201Operation(rawValue: pick)!
        })
    }

    static func search(_ s: WeightSharingSearch) throws -> (NB201Cell, Double, String) {
        let st = s.state("main")
        let mask = st.net.edgeMask
        if s.extra["probabilities"] == nil {
            let uniform = mask.flatMap { row in row.map { $0 ? 1 / Float(row.filter { $0 }.count) : 0 } }
            s.extra["probabilities"] = Tensor(shape: [6, 5], data: uniform)
            s.extra["trained_steps"] = Tensor(zeros: [6, 5])
            s.extra["accuracy"] = Tensor(zeros: [6, 5])
        }
        let pT = s.extra["probabilities"]!, hT = s.extra["trained_steps"]!, aT = s.extra["accuracy"]!
        let probe = HealthProbe(net: st.net, architecture: pT) { Discretize.argmax(pT.array, mask: mask) }
        try s.runStage("main", epochs: s.config.epochs, health: probe) { epoch in
            st.weightOptimizer.learningRate = s.weightLearningRate(epoch: epoch, of: s.config.epochs, peak: s.config.weightLearningRate)
            var rng = s.generator(stage: "main", epoch: epoch)
            let (wb, ab) = s.batches(stage: "main", epoch: epoch)
            let p = pT.array
            var accSum = [Float](repeating: 0, count: 30), accCount = [Float](repeating: 0, count: 30)
            var lossSum: Float = 0, seen = 0
            for b in 0..<wb.count {
                let cell = sample(p, using: &rng)
                let (l, _) = st.weightStep(wb[b], mode: .path(cell), gradClip: s.config.gradClip)
                lossSum += l * Float(wb[b].labels.count); seen += wb[b].labels.count
                let val = ab[b % ab.count]
                let acc = withoutGrad {
                    Float(zip(st.net(val.images, mode: .path(cell)).argmaxLastAxis(), val.labels).filter { $0 == $1 }.count) / Float(val.labels.count)
                }
                for e in 0..<NB201Cell.edgeCount {
                    let i = e * 5 + cell[e].rawValue
                    hT[flat: i] += 1; accSum[i] += acc; accCount[i] += 1
                }
            }
            for i in 0..<30 where accCount[i] > 0 { aT[flat: i] = accSum[i] / accCount[i] }
            let h = hT.array, a = aT.array
            for e in 0..<NB201Cell.edgeCount {
                let r = (e * 5)..<(e * 5 + 5)
                let q = update(probabilities: Array(p[r]), trainedSteps: Array(h[r]), accuracy: Array(a[r]), lr: s.config.mdenasLearningRate)
                for k in 0..<5 { pT[flat: e * 5 + k] = q[k] }
            }
            return String(format: "loss %.4f, argmax %@", lossSum / Float(max(seen, 1)), Discretize.argmax(pT.array, mask: mask).description)
        }
        let cell = Discretize.argmax(pT.array, mask: mask)
        let prob = (0..<6).reduce(1.0) { $0 * Double(pT[flat: $1 * 5 + cell[$1].rawValue]) }
        return (cell, prob, "probability under the learned multinomials")
    }
}
