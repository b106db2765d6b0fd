import Foundation
import NASSpaces
import NASNN
import NASTensor

/// REINFORCE (Williams, 1992) with a per-decision categorical policy, as the NAS-Bench-201
/// paper runs it: one independent softmax over the operations of each edge, updated by the
/// policy gradient with Adam, and an exponential-moving-average baseline to cut variance.
///
/// After each evaluation with reward r (the objective, e.g. validation accuracy in %), the
/// baseline b ← m·b + (1−m)·r is updated first and then θ moves along (r − b)·∇θ log π(a), whose
/// component for decision e and option o is (r − b)·(1[aₑ = o] − πₑ(o)). The first reward
/// initialises b, so the first step has zero advantage (no signal yet to compare with).
///
/// With several workers: delayed rewards. Each ask samples from the current policy; each tell
/// updates it with the gradient of log π of the architecture told (recomputed from its choices
/// at the current logits, nothing is cached from the ask), so tells may come in any order.
///
/// Defaults: learning rate 0.01 (the NATS-Bench script's value), EMA momentum 0.9, Adam
/// β = (0.9, 0.999), ε = 1e-8, logits initialised to zero (uniform policy).
public struct Reinforce<Space: CategoricalSearchSpace & Codable>: HyperparameterizedStrategy {
    public struct Hyperparameters: Codable, Equatable, Sendable {
        public var learningRate: Double = 0.01
        /// Momentum m of the moving-average baseline.
        public var baselineMomentum: Double = 0.9
        public var beta1: Double = 0.9
        public var beta2: Double = 0.999
        public var epsilon: Double = 1e-8
        public init() {}
    }

    public static var name: String { "reinforce" }

    public var space: Space
    public let hyperparameters: Hyperparameters
    var rng: SeededGenerator
    /// Logits per decision.
    var logits: [[Double]]
    var adamM: [[Double]]
    var adamV: [[Double]]
    var adamStep = 0
    var baseline: Double?

    public init(space: Space, hyperparameters: Hyperparameters = .init(), seed: UInt64) throws {
        guard hyperparameters.learningRate > 0 else { throw StrategyError.invalidHyperparameter("learning_rate must be > 0") }
        guard (0..<1).contains(hyperparameters.baselineMomentum) else {
            throw StrategyError.invalidHyperparameter("baseline_momentum must be in [0, 1)")
        }
        self.space = space
        self.hyperparameters = hyperparameters
        self.rng = SeededGenerator(seed: seed)
        logits = space.choiceCounts.map { [Double](repeating: 0, count: $0) }
        adamM = logits
        adamV = logits
    }

    public func checkRestoredFields() throws {
        for (rows, name) in [(logits, "logits"), (adamM, "adam_m"), (adamV, "adam_v")] {
            try RestoredState.shaped(rows, like: space.choiceCounts, name)
        }
        try RestoredState.counter(adamStep, "adam_step")
        if let b = baseline { try RestoredState.finite([b], "baseline") }
    }

    /// Current policy: softmax of each decision's logits.
    public var probabilities: [[Double]] { logits.map(Self.softmax) }

    static func softmax(_ z: [Double]) -> [Double] {
        let m = z.max() ?? 0
        let e = z.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    public mutating func ask() throws -> Proposal<Space.Architecture> {
        var choices: [Int] = []
        for p in probabilities {
            let u = rng.unitDouble()
            var acc = 0.0
            var pick = p.count - 1
            for (o, q) in p.enumerated() {
                acc += q
                if u < acc { pick = o; break }
            }
            choices.append(pick)
        }
        return Proposal(space.architecture(choices: choices))
    }

    public mutating func tell(_ observation: Observation<Space.Architecture>) throws {
        let r = observation.objective
        let m = hyperparameters.baselineMomentum
        let b = baseline.map { m * $0 + (1 - m) * r } ?? r
        baseline = b
        let advantage = r - b
        let chosen = space.choices(of: observation.architecture)
        let probs = probabilities
        adamStep += 1
        let h = hyperparameters
        let (stepSize, correctionRoot) = adamCorrections(learningRate: h.learningRate, beta1: h.beta1, beta2: h.beta2, step: adamStep)
        for e in logits.indices {
            for o in logits[e].indices {
                // Gradient of the loss −(r − b)·log π(a), which Adam descends.
                let g = -advantage * ((chosen[e] == o ? 1 : 0) - probs[e][o])
                adamUpdate(&logits[e][o], m: &adamM[e][o], v: &adamV[e][o], gradient: g, beta1: h.beta1, beta2: h.beta2,
                           eps: h.epsilon, stepSize: stepSize, correctionRoot: correctionRoot)
            }
        }
    }
}
