import NASSpaces
import NASTensor

/// Regularized evolution (aging evolution), Real, Aggarwal, Huang & Le, AAAI 2019.
///
/// The population is a queue. The first `population` proposals are random samples; after that
/// each proposal is a mutation of the best of `sampleSize` members drawn uniformly (with
/// replacement, as in the paper's Algorithm 1) from the population, and every evaluated child
/// joins the queue while the *oldest* member leaves — not the worst. Ageing is the
/// regularisation: an architecture survives by having good descendants, not by one lucky score.
///
/// Defaults are the NAS-Bench-201 paper's setting: population 10, tournament sample 3.
///
/// With several workers: asynchronous, as the paper runs it. The first `population` *asks* are
/// random (so outstanding asks during the warm-up are all random), each later ask runs a
/// tournament on the population as it is now (random again while it is still empty because
/// every founder is pending), and each tell, in whatever order, adds its architecture to the
/// queue and ages out the oldest member.
public struct RegularizedEvolution<Space: SearchSpace & Codable>: HyperparameterizedStrategy {
    public struct Hyperparameters: Codable, Equatable, Sendable {
        /// Queue length (P in the paper).
        public var population: Int = 10
        /// Tournament size (S in the paper).
        public var sampleSize: Int = 3
        public init() {}
    }

    struct Member: Codable, Equatable {
        var architecture: Space.Architecture
        var fitness: Double
    }

    public static var name: String { "rea" }

    public var space: Space
    public let hyperparameters: Hyperparameters
    var rng: SeededGenerator
    /// Oldest first.
    var population: [Member] = []
    /// Random initial proposals handed out so far.
    var initialProposed = 0

    public init(space: Space, hyperparameters: Hyperparameters = .init(), seed: UInt64) throws {
        guard hyperparameters.population >= 1 else { throw StrategyError.invalidHyperparameter("population must be ≥ 1") }
        guard (1...hyperparameters.population).contains(hyperparameters.sampleSize) else {
            throw StrategyError.invalidHyperparameter("sample_size must be between 1 and population (\(hyperparameters.population))")
        }
        self.space = space
        self.hyperparameters = hyperparameters
        self.rng = SeededGenerator(seed: seed)
    }

    public func checkRestoredFields() throws {
        try RestoredState.counter(initialProposed, "initial_proposed")
        guard population.count <= hyperparameters.population else {
            throw StrategyError.badState("the population holds \(population.count) members, more than \(hyperparameters.population)")
        }
    }

    public mutating func ask() throws -> Proposal<Space.Architecture> {
        if initialProposed < hyperparameters.population || population.isEmpty {
            initialProposed += 1
            return Proposal(space.sample(using: &rng))
        }
        var parent = population[rng.uniformIndex(below: population.count)]
        for _ in 1..<hyperparameters.sampleSize {
            let candidate = population[rng.uniformIndex(below: population.count)]
            if candidate.fitness > parent.fitness { parent = candidate }
        }
        return Proposal(space.mutate(parent.architecture, using: &rng))
    }

    public mutating func tell(_ observation: Observation<Space.Architecture>) throws {
        population.append(Member(architecture: observation.architecture, fitness: observation.objective))
        if population.count > hyperparameters.population { population.removeFirst() }
    }
}
