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

    /// A path drawn from the per-row multinomials `p` (`[rows × width]`, rows of the space);
    /// input choices, which carry no distribution, uniformly.
    static func sample(_ p: [Float], space: ModelSpace, mask: [[Bool]], using rng: inout SeededGenerator) -> ArchitectureChoices {
        let width = space.width
        var choices: [[Int]] = space.decisions.map { _ in [] }
        for (r, d) in space.rows.enumerated() {
            let u = rng.nextFloat()
            var acc: Float = 0, pick = width - 1
            for k in 0..<width { acc += p[r * width + k]; if u < acc && p[r * width + k] > 0 { pick = k; break } }
            while p[r * width + pick] == 0 && pick > 0 { pick -= 1 }
            choices[d] = [pick]
        }
        for (d, decision) in space.decisions.enumerated() {
            if case .input = decision.kind { choices[d] = space.draw(d, mask: mask, using: &rng) }
        }
        return space.repaired(ArchitectureChoices(choices), mask: mask, using: &rng)
    }

    static func search(_ s: WeightSharingSearch) throws -> (ArchitectureChoices, Double, String) {
        let st = s.state("main")
        let space = st.space, width = space.width, n = space.rows.count * width
        // Candidates a path may hold (DARTS's `none` only exists in a relaxation).
        let mask = space.discrete(st.net.mask)
        if s.extra["probabilities"] == nil {
            let uniform = mask.flatMap { row in row.map { $0 ? 1 / Float(row.filter { $0 }.count) : 0 } }
            s.extra["probabilities"] = Tensor(shape: [space.rows.count, width], data: uniform)
            s.extra["trained_steps"] = Tensor(zeros: [space.rows.count, width])
            s.extra["accuracy"] = Tensor(zeros: [space.rows.count, width])
        }
        guard let pT = s.extra["probabilities"], let hT = s.extra["trained_steps"], let aT = s.extra["accuracy"],
              [pT, hT, aT].allSatisfy({ $0.shape == [space.rows.count, width] }) else {
            throw WeightSharingError.checkpointMismatch("MdeNAS's probabilities are missing or have the wrong shape")
        }
        let probe = HealthProbe(net: st.net, architecture: pT) { space.argmax(pT.array, mask: mask) }
        try s.runStage("main", epochs: s.config.epochs, health: probe) { epoch in
            st.weightOptimizer.learningRate = s.weightLearningRate(epoch: epoch, of: s.config.epochs, peak: s.config.weightLearningRate)
            var rng = s.generator(stage: "main", epoch: epoch)
            let (wb, ab) = s.batches(stage: "main", epoch: epoch)
            let p = pT.array
            var accSum = [Float](repeating: 0, count: n), accCount = [Float](repeating: 0, count: n)
            var lossSum: Float = 0, seen = 0
            for b in 0..<wb.count {
                let cell = sample(p, space: space, mask: mask, using: &rng)
                let (l, _) = st.weightStep(wb[b], mode: .path(cell), gradClip: s.config.gradClip)
                lossSum += l * Float(wb[b].labels.count); seen += wb[b].labels.count
                let val = ab[b % ab.count]
                let acc = withoutGrad {
                    Float(zip(st.net(val.images, mode: .path(cell)).argmaxLastAxis(), val.labels).filter { $0 == $1 }.count) / Float(val.labels.count)
                }
                for (r, d) in space.rows.enumerated() where cell.choices[d][0] >= 0 {
                    let i = r * width + cell.choices[d][0]
                    hT[flat: i] += 1; accSum[i] += acc; accCount[i] += 1
                }
            }
            for i in 0..<n where accCount[i] > 0 { aT[flat: i] = accSum[i] / accCount[i] }
            let h = hT.array, a = aT.array
            for r in space.rows.indices {
                let range = (r * width)..<(r * width + width)
                let q = update(probabilities: Array(p[range]), trainedSteps: Array(h[range]), accuracy: Array(a[range]),
                               lr: s.config.mdenasLearningRate)
                for k in 0..<width { pT[flat: r * width + k] = q[k] }
            }
            return String(format: "loss %.4f, argmax %@", lossSum / Float(max(seen, 1)), st.net.describe(space.argmax(pT.array, mask: mask)))
        }
        let cell = space.argmax(pT.array, mask: mask)
        let prob = space.rows.enumerated().reduce(1.0) { acc, rd in
            cell.choices[rd.1][0] >= 0 ? acc * Double(pT[flat: rd.0 * width + cell.choices[rd.1][0]]) : acc
        }
        return (cell, prob, "probability under the learned multinomials")
    }
}
