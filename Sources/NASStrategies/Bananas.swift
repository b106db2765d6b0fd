import Foundation
import NASSpaces
import NASTensor

/// BANANAS: Bayesian optimisation with an ensemble of neural predictors on the path encoding
/// (White, Neiswanger & Savani, AAAI 2021).
///
/// 1. Evaluate `initialSamples` random architectures.
/// 2. Train `ensembleSize` small networks (same data, different initialisations and batch
///    orders) to predict the objective from the encoding; their spread is the uncertainty.
/// 3. Make `candidates` new architectures by mutating the `mutateTop` best evaluated ones
///    (round-robin; each candidate is one mutation away from its parent), dropping ones
///    already evaluated or duplicated.
/// 4. Score each candidate by independent Thompson sampling (ITS): one draw from
///    N(ensemble mean, ensemble std²). Propose the `batchSize` highest, then go to 2.
///    (`acquisition: ucb` ranks by mean + `ucbKappa`·std instead.)
///
/// With several workers: the batch of step 4 is handed out to asks in order without waiting for
/// results (pending architectures are never proposed again); tells join the training data of
/// the next round (see `ModelBasedStrategy`).
///
/// The paper's predictor is deeper (10 layers of width 20, 200 epochs); the defaults here
/// (2 hidden layers of 16, 100 epochs) keep a 100-seed benchmark to minutes and were enough
/// to beat regularized evolution on NAS-Bench-201 (see docs/search.md).
public struct Bananas<Space: SearchSpace & Codable>: ModelBasedStrategy {
    public enum Acquisition: String, Codable, Sendable { case its, ucb }

    public struct Hyperparameters: Codable, Equatable, Sendable, ModelBasedHyperparameters {
        /// Random architectures labelled before the first ensemble is trained.
        public var initialSamples: Int = 10
        /// Predictors in the ensemble (its spread is the uncertainty).
        public var ensembleSize: Int = 5
        /// Hidden layers and their width in each predictor MLP.
        public var hiddenLayers: Int = 2
        public var hiddenWidth: Int = 16
        /// Training epochs of each predictor per round, in mini-batches of `batchSize`, Adam at `learningRate`.
        public var epochs: Int = 100
        public var batchSize: Int = 16
        public var learningRate: Double = 0.01
        /// Candidates per round, mutations of the `mutateTop` best labelled architectures.
        public var candidates: Int = 100
        public var mutateTop: Int = 10
        /// Proposals taken from one trained ensemble (k in the paper).
        public var proposalsPerRound: Int = 10
        /// Independent Thompson sampling (`its`, the paper's) or an upper confidence bound with `ucbKappa`.
        public var acquisition: Acquisition = .its
        public var ucbKappa: Double = 1.0
        /// The predictors' input: the path encoding (the paper's) or one-hot.
        public var encoding: ArchitectureEncoding = .path
        public init() {}
    }

    public static var name: String { "bananas" }

    public var space: Space
    public let hyperparameters: Hyperparameters
    var rng: SeededGenerator
    public var modelBased = ModelBasedState<Space.Architecture>()

    public init(space: Space, hyperparameters h: Hyperparameters = .init(), seed: UInt64) throws {
        // Upper limits keep a typo (or a corrupt store) from asking for years of predictor training.
        for (name, v, limit) in [("initial_samples", h.initialSamples, 100_000), ("ensemble_size", h.ensembleSize, 100),
                                 ("hidden_width", h.hiddenWidth, 1024), ("epochs", h.epochs, 10_000),
                                 ("batch_size", h.batchSize, 100_000), ("candidates", h.candidates, 100_000),
                                 ("mutate_top", h.mutateTop, 100_000), ("proposals_per_round", h.proposalsPerRound, 100_000)]
            where !(1...limit).contains(v) {
            throw StrategyError.invalidHyperparameter("\(name) must be from 1 to \(limit)")
        }
        guard (0...16).contains(h.hiddenLayers) else { throw StrategyError.invalidHyperparameter("hidden_layers must be from 0 to 16") }
        guard h.learningRate > 0, h.learningRate.isFinite else { throw StrategyError.invalidHyperparameter("learning_rate must be > 0") }
        guard h.ucbKappa.isFinite else { throw StrategyError.invalidHyperparameter("ucb_kappa must be a number") }
        self.space = space
        self.hyperparameters = h
        self.rng = SeededGenerator(seed: seed)
    }

    public mutating func randomArchitecture() -> Space.Architecture { space.sample(using: &rng) }

    /// Trains the ensemble and returns the architectures to propose next, best first.
    public mutating func round() throws -> [Space.Architecture] {
        let h = hyperparameters
        let ensemble = trainEnsemble()

        // Candidates: mutations of the best architectures so far.
        let parents = modelBased.best(h.mutateTop)
        var candidates: [Space.Architecture] = []
        var inPool = Set<Space.Architecture>()
        var attempts = 0
        while candidates.count < h.candidates, attempts < h.candidates * 10 {
            let child = space.mutate(parents[attempts % parents.count], using: &rng)
            attempts += 1
            if modelBased.proposed.contains(child) || !inPool.insert(child).inserted { continue }
            candidates.append(child)
        }
        if candidates.isEmpty { return [] }

        var scores: [Double] = []
        for c in candidates {
            let x = TinyMLP.SparseInput(space.encode(c, as: h.encoding))
            let predictions = ensemble.map { Double($0.predict(x)) }
            let mean = predictions.reduce(0, +) / Double(predictions.count)
            let variance = predictions.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(predictions.count - 1, 1))
            let std = variance.squareRoot()
            let score: Double
            switch h.acquisition {
            case .its: score = mean + std * Double(rng.nextNormal())
            case .ucb: score = mean + h.ucbKappa * std
            }
            scores.append(score)
        }
        return Array(bestFirst(candidates, scores: scores).prefix(h.proposalsPerRound))
    }

    private mutating func trainEnsemble() -> [TinyMLP] {
        let h = hyperparameters
        let inputs = modelBased.history.map { TinyMLP.SparseInput(space.encode($0.architecture, as: h.encoding)) }
        // Standardised targets: the same learning rate works whatever the objective's units.
        let ys = modelBased.history.map(\.objective)
        let (mean, std) = standardisation(ys)
        let targets = ys.map { Float(($0 - mean) / std) }
        let sizes = [space.encodingLength(h.encoding)] + Array(repeating: h.hiddenWidth, count: h.hiddenLayers) + [1]
        var models: [TinyMLP] = []
        for _ in 0..<h.ensembleSize {
            var modelRNG = SeededGenerator(seed: rng.next())
            var m = TinyMLP(sizes: sizes, rng: &modelRNG)
            m.train(inputs: inputs, targets: targets, epochs: h.epochs, batchSize: h.batchSize,
                    learningRate: Float(h.learningRate), rng: &modelRNG)
            models.append(m)
        }
        return models
    }
}
