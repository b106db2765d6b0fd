import Foundation
import NASNN
import NASSpaces
import NASTensor

/// REINFORCE with an LSTM controller (Zoph & Le, 2017), the policy-gradient search that Mortazi &
/// Bagci use to pick the per-layer hyper-parameters of a segmentation network from a Dice reward.
///
/// The controller (`LSTMController`) emits one decision per step, each conditioned on the ones
/// before it through the LSTM's state — unlike `reinforce`, whose decisions are independent.
/// After each evaluation with reward r (the objective, e.g. validation Dice in %), the moving
/// average baseline b ← m·b + (1−m)·r is updated first (the first reward initialises it, so the
/// first step has no signal), then Adam descends −(r − b)·log π(a) − λ·H(π) with the
/// log-probability summed over the decisions (teacher-forced on the architecture that was told).
///
/// With several workers: delayed rewards. Each ask samples with the current weights; each tell
/// computes log π of the architecture told, teacher-forced with the current weights, so it does
/// not matter which ask the tell answers or in what order tells arrive.
///
/// Every tell is one update, so the strategy is the same whether or not a search was stopped in
/// between: its whole state — the controller's weights, Adam's moments, the baseline and the
/// generator — is a plain Codable value.
///
/// Defaults: Adam learning rate 0.005, baseline momentum 0.9, entropy weight 1e-4 (ENAS's
/// controller values, with a larger rate since a CPU-scale search has tens of rewards, not
/// thousands), token embedding 32 and hidden state 64.
public struct ControllerReinforce<Space: CategoricalSearchSpace & Codable>: HyperparameterizedStrategy {
    public struct Hyperparameters: Codable, Equatable, Sendable {
        public var learningRate: Double = 0.005
        /// Momentum m of the moving-average baseline.
        public var baselineMomentum: Double = 0.9
        /// Weight λ of the policy's entropy bonus (keeps it from collapsing on early luck).
        public var entropyWeight: Double = 1e-4
        public var embeddingSize = 32
        public var hiddenSize = 64
        public init() {}
    }

    public static var name: String { "reinforce-lstm" }

    public var space: Space
    public let hyperparameters: Hyperparameters
    var rng: SeededGenerator
    /// Controller weights, Adam's first and second moments, by parameter name.
    var weights: FlatWeights
    var adamM: FlatWeights
    var adamV: FlatWeights
    var adamStep = 0
    var baseline: Double?

    public init(space: Space, hyperparameters: Hyperparameters = .init(), seed: UInt64) throws {
        let h = hyperparameters
        guard h.learningRate.isFinite, h.learningRate > 0 else { throw StrategyError.invalidHyperparameter("learning_rate must be > 0") }
        guard (0..<1).contains(h.baselineMomentum) else {
            throw StrategyError.invalidHyperparameter("baseline_momentum must be in [0, 1)")
        }
        guard h.entropyWeight.isFinite, h.entropyWeight >= 0 else { throw StrategyError.invalidHyperparameter("entropy_weight must be ≥ 0") }
        for (value, key) in [(h.embeddingSize, "embedding_size"), (h.hiddenSize, "hidden_size")] where !(1...1024).contains(value) {
            throw StrategyError.invalidHyperparameter("\(key) must be in 1…1024 (got \(value))")
        }
        guard !space.choiceCounts.isEmpty, space.choiceCounts.allSatisfy({ $0 >= 1 }) else {
            throw StrategyError.invalidHyperparameter("reinforce-lstm needs a space with at least one decision")
        }
        self.space = space
        self.hyperparameters = h
        rng = SeededGenerator(seed: seed)
        var modelRNG = SeededGenerator(seed: rng.next())
        let controller = Self.controller(space, h, using: &modelRNG)
        weights = FlatWeights(controller)
        adamM = weights.zeroed
        adamV = adamM
    }

    private static func controller(_ space: Space, _ h: Hyperparameters, using rng: inout SeededGenerator) -> LSTMController {
        LSTMController(layout: TokenLayout(counts: space.choiceCounts), embeddingSize: h.embeddingSize,
                       hiddenSize: h.hiddenSize, using: &rng)
    }

    /// The controller holding the current weights.
    func currentController() throws -> LSTMController {
        var unused = SeededGenerator(seed: 0)
        let c = Self.controller(space, hyperparameters, using: &unused)
        try weights.load(into: c)
        return c
    }

    public func checkRestoredFields() throws {
        let fresh = try Self(space: space, hyperparameters: hyperparameters, seed: 0)
        for (stored, name) in [(weights, "weights"), (adamM, "adam_m"), (adamV, "adam_v")] {
            try stored.check(shapedLike: fresh.weights, name)
        }
        try RestoredState.counter(adamStep, "adam_step")
        if let b = baseline { try RestoredState.finite([b], "baseline") }
    }

    /// The controller's probability of each option of each decision along `a`'s own choices
    /// (teacher-forced), for inspection and tests.
    public func probabilities(along a: Space.Architecture) throws -> [[Double]] {
        let c = try currentController()
        return c.decisionProbabilities(space.choices(of: a))
    }

    public mutating func ask() throws -> Proposal<Space.Architecture> {
        let choices = try currentController().sample(1, using: &rng)[0]
        return Proposal(space.architecture(choices: choices))
    }

    public mutating func tell(_ observation: Observation<Space.Architecture>) throws {
        let r = observation.objective
        guard r.isFinite else { throw StrategyError.badState("reinforce-lstm was told a non-finite reward \(r)") }
        let h = hyperparameters
        let b = baseline.map { h.baselineMomentum * $0 + (1 - h.baselineMomentum) * r } ?? r
        baseline = b
        let controller = try currentController()
        let loss = controller.policyGradientLoss([space.choices(of: observation.architecture)], weights: [Float(r - b)],
                                                 entropyWeight: Float(h.entropyWeight))
        loss.backward()
        adamStep += 1
        let (stepSize, correctionRoot) = adamCorrections(learningRate: h.learningRate, beta1: 0.9, beta2: 0.999, step: adamStep)
        for (name, tensor) in controller.namedParameters() {
            guard let grad = tensor.grad?.array, var w = weights.values[name], var m = adamM.values[name], var v = adamV.values[name] else {
                continue   // a parameter the loss did not reach (e.g. the token of the last decision) keeps its value
            }
            for i in w.indices {
                adamUpdate(&w[i], m: &m[i], v: &v[i], gradient: grad[i], beta1: 0.9, beta2: 0.999, eps: 1e-8,
                           stepSize: Float(stepSize), correctionRoot: Float(correctionRoot))
            }
            (weights.values[name], adamM.values[name], adamV.values[name]) = (w, m, v)
        }
    }
}
