import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// DARTS (Liu, Simonyan & Yang, ICLR 2019) on the NAS-Bench-201 supernet: every edge computes
/// the softmax(α)-weighted sum of its five ops; α and the weights are trained alternately on the
/// architecture and weight halves of the data, α by Adam, the weights by SGD; the cell is the
/// argmax of α on each edge (`none` included, as the benchmark's own DARTS code does).
///
/// First order uses ∇α L_val(w, α). Second order uses the unrolled hypergradient
/// ∇α L_val(w′, α) − ξ ∇²α,w L_train(w, α) ∇w′ L_val(w′, α), with w′ = w − ξ ∇w L_train(w, α)
/// (the virtual SGD step includes momentum and weight decay, ξ = the current weight learning
/// rate) and the Hessian-vector product by central finite differences at w ± ε ∇w′ L_val,
/// ε = 0.01 / ‖∇w′ L_val‖.
public enum DARTS {
    /// softmax(α) over the ops `mask` allows on each edge (others get weight 0).
    public static func architectureWeights(_ alpha: Tensor, mask: [[Bool]]) -> Tensor {
        if mask.allSatisfy({ $0.allSatisfy { $0 } }) { return softmax(alpha) }
        let bias = Tensor(shape: alpha.shape, data: mask.flatMap { $0.map { $0 ? 0 : -1e4 } })
        return softmax(alpha + bias)
    }

    /// Cross-entropy of the relaxed supernet on `batch`.
    public static func loss(_ net: any Supernet, alpha: Tensor, _ batch: Batch) -> Tensor {
        crossEntropy(net(batch.images, mode: .weighted(architectureWeights(alpha, mask: net.mask))), targets: batch.labels)
    }

    /// The argmax of α on each decision; each input choice keeps the inputs whose edge has the
    /// strongest softmax weight on an op other than `none` (DARTS's genotype rule).
    public static func discretize(_ st: SupernetState) -> ArchitectureChoices {
        let weights = withoutGrad { architectureWeights(st.alpha, mask: st.net.mask) }
        return st.space.argmax(st.alpha.array, strengths: weights.array, mask: st.net.mask)
    }

    /// Runs `body` with the supernet weights excluded from differentiation (α-only gradients).
    static func withFrozenWeights<T>(_ params: [Tensor], _ body: () -> T) -> T {
        for p in params { p.requiresGrad = false }
        defer { for p in params { p.requiresGrad = true } }
        return body()
    }

    /// ∇α L_val(w, α), the first-order approximation.
    public static func firstOrderGradient(_ net: any Supernet, alpha: Tensor, val: Batch) -> Tensor {
        alphaGradient(net.parameters(), alpha: alpha) { loss(net, alpha: $0, val) }
    }

    /// ∇α of `objective(α)` with `parameters` excluded from differentiation.
    static func alphaGradient(_ parameters: [Tensor], alpha: Tensor, _ objective: (Tensor) -> Tensor) -> Tensor {
        alpha.zeroGrad()
        withFrozenWeights(parameters) { objective(alpha).backward() }
        defer { alpha.zeroGrad() }
        return alpha.grad!.copy()
    }

    /// L_val(w − ξ(μ·buf + ∇w L_train(w, α) + λw), α) on the supernet: the objective whose
    /// α-gradient the second order approximates. The weights are restored afterwards.
    public static func unrolledValidationLoss(_ net: any Supernet, alpha: Tensor, train: Batch, val: Batch, xi: Float,
                                              momentum: Float = 0, momentumBuffers: [Tensor?]? = nil,
                                              weightDecay: Float = 0) -> Float {
        unrolledValidationLoss(parameters: net.parameters(), alpha: alpha, trainLoss: { loss(net, alpha: $0, train) },
                               valLoss: { loss(net, alpha: $0, val) }, xi: xi, momentum: momentum,
                               momentumBuffers: momentumBuffers, weightDecay: weightDecay)
    }

    /// The same for any model: `trainLoss(α)` / `valLoss(α)` evaluate the model with the current
    /// values of `parameters`.
    public static func unrolledValidationLoss(parameters: [Tensor], alpha: Tensor, trainLoss: (Tensor) -> Tensor,
                                              valLoss: (Tensor) -> Tensor, xi: Float, momentum: Float = 0,
                                              momentumBuffers: [Tensor?]? = nil, weightDecay: Float = 0) -> Float {
        let w0 = parameters.map { $0.copy() }
        virtualStep(parameters, w0, alpha: alpha, trainLoss: trainLoss, xi: xi, momentum: momentum,
                    momentumBuffers: momentumBuffers, weightDecay: weightDecay)
        let value = withoutGrad { valLoss(alpha).item }
        for (p, w) in zip(parameters, w0) { p.assign(w) }
        return value
    }

    /// w ← w0 − ξ(μ·buf + ∇w L_train(w0, α) + λ·w0).
    private static func virtualStep(_ params: [Tensor], _ w0: [Tensor], alpha: Tensor, trainLoss: (Tensor) -> Tensor,
                                    xi: Float, momentum: Float, momentumBuffers: [Tensor?]?, weightDecay: Float) {
        for p in params { p.zeroGrad() }
        trainLoss(alpha.detach()).backward()
        for (i, p) in params.enumerated() {
            let w = w0[i].data, out = p.data
            let g = p.grad?.data
            let buf = momentumBuffers?[i]?.data
            for j in 0..<p.count {
                var d = (g?[j] ?? 0) + weightDecay * w[j]
                if let buf { d += momentum * buf[j] }
                out[j] = w[j] - xi * d
            }
        }
        for p in params { p.zeroGrad() }
    }

    /// The second-order hypergradient of the supernet (see the type's documentation). The
    /// weights are restored afterwards; only batch-norm running statistics change, as in the
    /// reference code.
    public static func secondOrderGradient(_ net: any Supernet, alpha: Tensor, train: Batch, val: Batch, xi: Float,
                                           momentum: Float = 0, momentumBuffers: [Tensor?]? = nil,
                                           weightDecay: Float = 0) -> Tensor {
        secondOrderGradient(parameters: net.parameters(), alpha: alpha, trainLoss: { loss(net, alpha: $0, train) },
                            valLoss: { loss(net, alpha: $0, val) }, xi: xi, momentum: momentum,
                            momentumBuffers: momentumBuffers, weightDecay: weightDecay)
    }

    /// The second-order hypergradient for any model whose losses are `trainLoss(α)` and
    /// `valLoss(α)` at the current values of `parameters`.
    public static func secondOrderGradient(parameters params: [Tensor], alpha: Tensor, trainLoss: (Tensor) -> Tensor,
                                           valLoss: (Tensor) -> Tensor, xi: Float, momentum: Float = 0,
                                           momentumBuffers: [Tensor?]? = nil, weightDecay: Float = 0) -> Tensor {
        let w0 = params.map { $0.copy() }
        virtualStep(params, w0, alpha: alpha, trainLoss: trainLoss, xi: xi, momentum: momentum,
                    momentumBuffers: momentumBuffers, weightDecay: weightDecay)
        // ∇α and ∇w′ of L_val(w′, α).
        for p in params { p.zeroGrad() }
        alpha.zeroGrad()
        valLoss(alpha).backward()
        let dAlpha = alpha.grad!.copy()
        let v = params.map { $0.grad?.copy() ?? Tensor(zeros: $0.shape) }
        for p in params { p.zeroGrad() }
        alpha.zeroGrad()
        var norm: Double = 0
        for t in v { for j in 0..<t.count { norm += Double(t[flat: j]) * Double(t[flat: j]) } }
        let eps = Float(0.01 / max(norm.squareRoot(), 1e-12))
        // ∇α L_train(w0 ± ε v, α).
        func gradient(at sign: Float) -> Tensor {
            for (i, p) in params.enumerated() {
                let w = w0[i].data, d = v[i].data, out = p.data
                for j in 0..<p.count { out[j] = w[j] + sign * eps * d[j] }
            }
            return alphaGradient(params, alpha: alpha, trainLoss)
        }
        let gPlus = gradient(at: 1), gMinus = gradient(at: -1)
        for (p, w) in zip(params, w0) { p.assign(w) }
        let out = Tensor(uninitializedShape: alpha.shape)
        for j in 0..<out.count { out[flat: j] = dAlpha[flat: j] - xi * (gPlus[flat: j] - gMinus[flat: j]) / (2 * eps) }
        return out
    }

    /// One epoch of alternating architecture and weight steps on supernet `st`.
    static func trainEpoch(_ s: WeightSharingSearch, _ st: SupernetState, stage: String, epoch: Int, epochs: Int,
                           peak: Float, secondOrder: Bool) -> String {
        st.weightOptimizer.learningRate = s.weightLearningRate(epoch: epoch, of: epochs, peak: peak)
        let (wb, ab) = s.batches(stage: stage, epoch: epoch)
        var lossSum: Float = 0, correct = 0, seen = 0
        for b in 0..<wb.count {
            let train = wb[b], val = ab[b % ab.count]
            if secondOrder {
                let buffers = st.weightOptimizer.stateTensors()
                let list = st.weightOptimizer.parameters.indices.map { buffers["\($0).momentum_buffer"] }
                st.alpha.grad = secondOrderGradient(st.net, alpha: st.alpha, train: train, val: val,
                                                    xi: st.weightOptimizer.learningRate, momentum: s.config.momentum,
                                                    momentumBuffers: list, weightDecay: s.config.weightDecay)
            } else {
                st.alpha.grad = firstOrderGradient(st.net, alpha: st.alpha, val: val)
            }
            st.archStep()
            let w = withoutGrad { architectureWeights(st.alpha, mask: st.net.mask) }
            let (l, c) = st.weightStep(train, mode: .weighted(w), gradClip: s.config.gradClip)
            lossSum += l * Float(train.labels.count); correct += c; seen += train.labels.count
        }
        return String(format: "loss %.4f acc %.2f%% cell %@", lossSum / Float(max(seen, 1)),
                      100 * Double(correct) / Double(max(seen, 1)), st.net.describe(discretize(st)))
    }

    /// Mean over edges of the largest softmax weight (how decided α is).
    static func confidence(_ st: SupernetState) -> Double {
        let w = withoutGrad { architectureWeights(st.alpha, mask: st.net.mask) }
        let (rows, width) = (st.space.rows.count, st.space.width)
        return (0..<rows).map { r in Double((0..<width).map { w[flat: r * width + $0] }.max() ?? 0) }.reduce(0, +) / Double(rows)
    }

    /// The health probe of a DARTS-trained supernet: its argmax cell, α restored on rollback.
    static func healthProbe(_ st: SupernetState) -> HealthProbe {
        HealthProbe(net: st.net, architecture: st.alpha) { discretize(st) }
    }

    /// One DARTS search per restart (restart 0 is the plain run, stage "main"; restart r > 0
    /// has its own initialisation and batch order); with several, the derived cell with the
    /// best recalibrated accuracy on the architecture half wins, as in few-shot NAS.
    static func search(_ s: WeightSharingSearch, secondOrder: Bool) throws -> (ArchitectureChoices, Double, String) {
        var candidates: [(cell: ArchitectureChoices, state: SupernetState)] = []
        for r in 0..<s.config.restarts {
            let (stage, st) = s.restart(r)
            try s.runStage(stage, epochs: s.config.epochs, health: healthProbe(st)) { e in
                trainEpoch(s, st, stage: stage, epoch: e, epochs: s.config.epochs, peak: s.config.weightLearningRate, secondOrder: secondOrder)
            }
            candidates.append((discretize(st), st))
        }
        guard candidates.count > 1 else {
            return (candidates[0].cell, confidence(candidates[0].state), "mean max softmax(α)")
        }
        let calibration = s.calibrationBatches(), evaluation = s.evaluationSet()
        var best: (cell: ArchitectureChoices, accuracy: Double)? = nil
        for (r, c) in candidates.enumerated() {
            let accuracy = PathEvaluation.score(c.state.net, cell: c.cell, calibration: calibration, data: evaluation)
            s.log?("restart \(r): \(s.describe(c.cell)) accuracy \(String(format: "%.4f", accuracy))")
            if best == nil || accuracy > best!.accuracy { best = (c.cell, accuracy) }
        }
        return (best!.cell, best!.accuracy, "restart's supernet accuracy on the architecture half")
    }
}
