import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// DNAL (Guo, Wu, Kittler & Feng, 2021): architecture components are gated by a scaled sigmoid
/// σ(β·α) instead of a softmax, and the scale β grows during training (a continuation method),
/// so the relaxed gates converge to a binary choice and the learned network needs no separate
/// candidate evaluation. NAS-Bench-201 needs exactly one op per edge, so the gate of op k is
/// σ(β·(α_k − max_{j≠k} α_j)) with the competitors' maximum held constant in the gradient:
/// as β → ∞ it is 1 for the edge's largest α and 0 for every other op — one-hot. α (Adam) and
/// the weights (SGD) are trained alternately, first order, on the two data halves; β grows
/// geometrically from `beta_initial` in the first epoch to `beta_final` in the last.
///
/// `none` gets no gate: in DNAL a closed gate prunes a component, and an edge that is pruned
/// away is what `none` would mean, but NAS-Bench-201 needs one op per edge, so the search runs
/// over the four ops that compute something (with `none`, the rival maximum leaves α_none
/// without any gradient, and a cell could end with only `none` reaching its output).
public enum DNAL {
    /// The candidates DNAL gates: all but the zero op (`none`) and those only a relaxation holds.
    public static func gatedMask(_ space: ModelSpace, _ mask: [[Bool]]) -> [[Bool]] {
        space.discrete(mask).enumerated().map { r, row in
            row.enumerated().map { k, on in on && !space.decisions[space.rows[r]].zero[k] }
        }
    }

    /// The gates `[rows, width]` at scale β (differentiable in α).
    public static func gates(_ alpha: Tensor, beta: Float, mask: [[Bool]]) -> Tensor {
        let rival = Tensor(uninitializedShape: alpha.shape)
        let offMask = Tensor(uninitializedShape: alpha.shape)
        let width = alpha.shape[1]
        for e in 0..<alpha.shape[0] {
            for k in 0..<width {
                var m = -Float.infinity
                for j in 0..<width where j != k && mask[e][j] { m = max(m, alpha[flat: e * width + j]) }
                // An edge with a single allowed op: that op is always on.
                rival[flat: e * width + k] = m.isFinite ? m : alpha[flat: e * width + k] - 1e3
                offMask[flat: e * width + k] = mask[e][k] ? 1 : 0
            }
        }
        return sigmoid((alpha - rival) * beta) * offMask
    }

    /// β in epoch `epoch` of `epochs`.
    public static func beta(epoch: Int, of epochs: Int, initial: Float, final: Float) -> Float {
        guard epochs > 1 else { return final }
        return initial * Foundation.pow(final / initial, Float(epoch) / Float(epochs - 1))
    }

    static func search(_ s: WeightSharingSearch) throws -> (ArchitectureChoices, Double, String) {
        let st = s.state("main")
        st.net.mask = gatedMask(st.space, st.net.mask)
        let c = s.config
        let space = st.space
        func derive() -> ArchitectureChoices { space.argmax(st.alpha.array, mask: st.net.mask) }
        let probe = HealthProbe(net: st.net, architecture: st.alpha, derive: derive)
        try s.runStage("main", epochs: c.epochs, health: probe) { epoch in
            let b = beta(epoch: epoch, of: c.epochs, initial: c.betaInitial, final: c.betaFinal)
            st.weightOptimizer.learningRate = s.weightLearningRate(epoch: epoch, of: c.epochs, peak: c.weightLearningRate)
            let (wb, ab) = s.batches(stage: "main", epoch: epoch)
            var lossSum: Float = 0, seen = 0
            for i in 0..<wb.count {
                let val = ab[i % ab.count]
                st.alpha.zeroGrad()
                DARTS.withFrozenWeights(st.net.parameters()) {
                    crossEntropy(st.net(val.images, mode: .weighted(gates(st.alpha, beta: b, mask: st.net.mask))),
                                 targets: val.labels).backward()
                }
                st.archStep()
                let g = withoutGrad { gates(st.alpha, beta: b, mask: st.net.mask) }
                let (l, _) = st.weightStep(wb[i], mode: .weighted(g), gradClip: c.gradClip)
                lossSum += l * Float(wb[i].labels.count); seen += wb[i].labels.count
            }
            return String(format: "β %.2f loss %.4f cell %@", b, lossSum / Float(max(seen, 1)),
                          st.net.describe(derive()))
        }
        let lastBeta = beta(epoch: c.epochs - 1, of: c.epochs, initial: c.betaInitial, final: c.betaFinal)
        let g = withoutGrad { gates(st.alpha, beta: lastBeta, mask: st.net.mask) }
        let cell = derive()
        let on = space.rows.enumerated().filter { cell.choices[$0.1][0] >= 0 }
            .map { Double(g[flat: $0.0 * space.width + cell.choices[$0.1][0]]) }
        let onGate = on.reduce(0, +) / Double(max(on.count, 1))
        return (cell, onGate, "mean gate of the chosen ops at the final β")
    }
}
