import Foundation
import NASTensor

/// Updates parameters from their gradients. Per-parameter state (momentum, moments) is kept in
/// tensors so it can go into a checkpoint.
public protocol Optimizer: AnyObject {
    var parameters: [Tensor] { get }
    var learningRate: Float { get set }
    /// Applies one update with the current gradients (parameters without a gradient are skipped).
    func step()
    /// Named state tensors for checkpoints (`<index>.<slot>`), and the step counter.
    func stateTensors() -> [String: Tensor]
    func loadState(_ state: [String: Tensor]) throws
}

extension Optimizer {
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// Errors reading optimizer state back from a checkpoint.
public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String
}

/// Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov and L2 weight decay.
public final class SGD: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let momentum: Float, dampening: Float, weightDecay: Float
    public let nesterov: Bool
    private var buffers: [Tensor?]

    public init(_ parameters: [Tensor], lr: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "Nesterov needs momentum and no dampening")
        self.parameters = parameters
        learningRate = lr
        self.momentum = momentum; self.dampening = dampening; self.weightDecay = weightDecay; self.nesterov = nesterov
        buffers = Array(repeating: nil, count: parameters.count)
    }

    public func step() {
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            let pp = p.data, pg = g.data, n = p.count
            let lr = learningRate, wd = weightDecay, mom = momentum
            if mom == 0 {
                for j in 0..<n { pp[j] -= lr * (pg[j] + wd * pp[j]) }
                continue
            }
            let first = buffers[i] == nil
            let buf = buffers[i] ?? Tensor(zeros: p.shape)
            buffers[i] = buf
            let pb = buf.data, damp = 1 - dampening
            for j in 0..<n {
                let d = pg[j] + wd * pp[j]
                pb[j] = first ? d : mom * pb[j] + damp * d
                pp[j] -= lr * (nesterov ? d + mom * pb[j] : pb[j])
            }
        }
    }

    public func stateTensors() -> [String: Tensor] {
        var s: [String: Tensor] = [:]
        for (i, b) in buffers.enumerated() { if let b { s["\(i).momentum_buffer"] = b } }
        return s
    }

    public func loadState(_ state: [String: Tensor]) throws {
        for i in parameters.indices {
            guard let b = state["\(i).momentum_buffer"] else { buffers[i] = nil; continue }
            guard b.shape == parameters[i].shape else {
                throw OptimizerStateError(description: "momentum buffer \(i) has shape \(b.shape), parameter has \(parameters[i].shape)")
            }
            buffers[i] = b.copy()
        }
    }
}

/// Adam's update of one weight from its gradient, with PyTorch's bias correction: the rule `Adam`
/// applies to every tensor element, written once so that models keeping their weights as plain
/// arrays (BANANAS's predictor, REINFORCE's logits) step exactly as `Adam` does.
/// `stepSize` is lr / (1 − β₁ᵗ) and `correctionRoot` is √(1 − β₂ᵗ) (see `adamCorrections`).
@inlinable
public func adamUpdate<S: BinaryFloatingPoint>(_ weight: inout S, m: inout S, v: inout S, gradient g: S,
                                               beta1: S, beta2: S, eps: S, stepSize: S, correctionRoot: S) {
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    weight -= stepSize * m / (v.squareRoot() / correctionRoot + eps)
}

/// `stepSize` and `correctionRoot` of `adamUpdate` at 1-based step `t`.
public func adamCorrections(learningRate: Float, beta1: Float, beta2: Float, step t: Int) -> (stepSize: Float, correctionRoot: Float) {
    (learningRate / (1 - Foundation.pow(beta1, Float(t))), (1 - Foundation.pow(beta2, Float(t))).squareRoot())
}

/// The same in double precision.
public func adamCorrections(learningRate: Double, beta1: Double, beta2: Double, step t: Int) -> (stepSize: Double, correctionRoot: Double) {
    (learningRate / (1 - Foundation.pow(beta1, Double(t))), (1 - Foundation.pow(beta2, Double(t))).squareRoot())
}

/// Adam (Kingma & Ba) with PyTorch's bias correction; `decoupled` gives AdamW
/// (weight decay applied to the weights, not the gradient).
public final class Adam: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public let decoupled: Bool
    public private(set) var stepCount = 0
    private var m: [Tensor], v: [Tensor]

    public init(_ parameters: [Tensor], lr: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8,
                weightDecay: Float = 0, decoupled: Bool = false) {
        self.parameters = parameters
        learningRate = lr
        beta1 = betas.0; beta2 = betas.1; self.eps = eps; self.weightDecay = weightDecay; self.decoupled = decoupled
        m = parameters.map { Tensor(zeros: $0.shape) }
        v = parameters.map { Tensor(zeros: $0.shape) }
    }

    public func step() {
        stepCount += 1
        let (stepSize, bc2Root) = adamCorrections(learningRate: learningRate, beta1: beta1, beta2: beta2, step: stepCount)
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            let pp = p.data, pg = g.data, pm = m[i].data, pv = v[i].data
            let (b1, b2, wd, lr, eps) = (beta1, beta2, weightDecay, learningRate, self.eps)
            for j in 0..<p.count {
                var d = pg[j]
                if decoupled { pp[j] *= 1 - lr * wd } else { d += wd * pp[j] }
                adamUpdate(&pp[j], m: &pm[j], v: &pv[j], gradient: d, beta1: b1, beta2: b2, eps: eps,
                           stepSize: stepSize, correctionRoot: bc2Root)
            }
        }
    }

    public func stateTensors() -> [String: Tensor] {
        var s: [String: Tensor] = ["step": Tensor(scalar: Float(stepCount))]
        for i in parameters.indices { s["\(i).exp_avg"] = m[i]; s["\(i).exp_avg_sq"] = v[i] }
        return s
    }

    public func loadState(_ state: [String: Tensor]) throws {
        guard let st = state["step"] else { throw OptimizerStateError(description: "Adam state has no 'step'") }
        // Int(_:) of a non-finite or huge float would stop the process: check the stored value first.
        guard st.count == 1, st.item.isFinite, st.item >= 0, st.item < 1e12 else {
            throw OptimizerStateError(description: "Adam's 'step' is \(st.count == 1 ? "\(st.item)" : "not one number"), not a step count")
        }
        stepCount = Int(st.item)
        for i in parameters.indices {
            guard let a = state["\(i).exp_avg"], let b = state["\(i).exp_avg_sq"],
                  a.shape == parameters[i].shape, b.shape == parameters[i].shape else {
                throw OptimizerStateError(description: "Adam state for parameter \(i) is missing or has the wrong shape")
            }
            m[i] = a.copy(); v[i] = b.copy()
        }
    }
}

/// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, PyTorch's default decay 0.01.
public func AdamW(_ parameters: [Tensor], lr: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8,
                  weightDecay: Float = 0.01) -> Adam {
    Adam(parameters, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, decoupled: true)
}

/// Scales gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in parameters { if let g = p.grad { for j in 0..<g.count { total += Double(g[flat: j] * g[flat: j]) } } }
    let norm = Float(total.squareRoot())
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        for p in parameters { if let g = p.grad { for j in 0..<g.count { g[flat: j] *= coef } } }
    }
    return norm
}
