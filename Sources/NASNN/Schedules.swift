import Foundation

/// A learning rate as a function of the step (or epoch) counter.
public protocol LearningRateSchedule: Sendable {
    func learningRate(at step: Int) -> Float
}

/// Constant rate.
public struct ConstantLR: LearningRateSchedule {
    public let base: Float
    public init(_ base: Float) { self.base = base }
    public func learningRate(at step: Int) -> Float { base }
}

/// Cosine annealing from `base` to `minimum` over `total` steps (PyTorch's `CosineAnnealingLR`
/// closed form), constant at `minimum` afterwards.
public struct CosineAnnealing: LearningRateSchedule {
    public let base: Float, minimum: Float, total: Int
    public init(base: Float, total: Int, minimum: Float = 0) {
        self.base = base; self.total = max(total, 1); self.minimum = minimum
    }
    public func learningRate(at step: Int) -> Float {
        let t = Float(min(step, total)) / Float(total)
        return minimum + (base - minimum) * (1 + cos(Float.pi * t)) / 2
    }
}

/// Multiplies by `gamma` every `stepSize` steps (`StepLR`).
public struct StepDecay: LearningRateSchedule {
    public let base: Float, stepSize: Int, gamma: Float
    public init(base: Float, stepSize: Int, gamma: Float = 0.1) {
        self.base = base; self.stepSize = max(stepSize, 1); self.gamma = gamma
    }
    public func learningRate(at step: Int) -> Float { base * pow(gamma, Float(step / stepSize)) }
}

/// Linear warm-up from `base·startFactor` to the wrapped schedule's rate over `warmup` steps,
/// then the wrapped schedule (shifted so it starts after the warm-up).
public struct LinearWarmup<S: LearningRateSchedule>: LearningRateSchedule {
    public let warmup: Int, startFactor: Float
    public let after: S
    public init(warmup: Int, startFactor: Float = 0, then after: S) {
        self.warmup = warmup; self.startFactor = startFactor; self.after = after
    }
    public func learningRate(at step: Int) -> Float {
        if step >= warmup { return after.learningRate(at: step - warmup) }
        let f = startFactor + (1 - startFactor) * Float(step) / Float(max(warmup, 1))
        return after.learningRate(at: 0) * f
    }
}
