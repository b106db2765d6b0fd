import NASSpaces
import NASTensor

/// Search without training (Mellor et al., ICML 2021): draw `samples` random architectures,
/// let the estimator score each with a zero-cost proxy (the objective), and propose the
/// best-scoring one as the final answer — at fidelity `trainEpochs` when it is to be trained.
///
/// With several workers: the final architecture is chosen only once `samples` scores have been
/// told; an ask made while scores are still pending scores one more random architecture instead
/// (at most one per other worker), so the choice never misses a sample's score.
public struct TrainingFreeSearch<Space: SearchSpace & Codable>: HyperparameterizedStrategy {
    public struct Hyperparameters: Codable, Equatable, Sendable {
        /// Architectures scored (the paper's N; it reports N = 10 and N = 100).
        public var samples: Int = 100
        /// Epochs to train the chosen architecture for (0: report it untrained).
        public var trainEpochs: Int = 0
        public init() {}
    }

    public static var name: String { "naswot" }

    public var space: Space
    public let hyperparameters: Hyperparameters
    var sampler: RandomSearch<Space>
    var asked = 0
    /// Samples whose score has been told; nil in a state saved before it was counted (then every
    /// asked sample was told, or is told next).
    var scored: Int?
    var best: Observation<Space.Architecture>?
    var finalProposed = false

    public init(space: Space, hyperparameters: Hyperparameters = .init(), seed: UInt64) throws {
        guard hyperparameters.samples > 0 else { throw StrategyError.invalidHyperparameter("samples must be > 0") }
        guard hyperparameters.trainEpochs >= 0 else { throw StrategyError.invalidHyperparameter("train_epochs must be ≥ 0") }
        self.space = space
        self.hyperparameters = hyperparameters
        sampler = try RandomSearch(space: space, seed: seed)
    }

    public func checkRestoredFields() throws {
        try RestoredState.counter(asked, "asked")
        if let scored { try RestoredState.counter(scored, "scored") }
    }

    public mutating func ask() throws -> Proposal<Space.Architecture> {
        let told = scored ?? asked
        scored = told
        if asked < hyperparameters.samples || told < hyperparameters.samples {
            asked += 1
            return try sampler.ask()
        }
        guard !finalProposed, let best else {
            throw StrategyError.exhausted("all \(hyperparameters.samples) samples are scored and the best was proposed")
        }
        finalProposed = true
        return Proposal(best.architecture, fidelity: hyperparameters.trainEpochs > 0 ? Fidelity(epochs: hyperparameters.trainEpochs) : nil,
                        role: .final)
    }

    public mutating func tell(_ observation: Observation<Space.Architecture>) throws {
        guard !finalProposed else { return }
        scored = (scored ?? asked - 1) + 1
        // Ties keep the earlier sample, so the choice does not depend on anything but the scores.
        if best == nil || observation.objective > best!.objective { best = observation }
    }

    /// Queries a full run makes: every sample plus the final proposal.
    public var totalQueries: Int { hyperparameters.samples + 1 }
}
