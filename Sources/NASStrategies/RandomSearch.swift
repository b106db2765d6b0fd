import NASSpaces
import NASTensor

/// Random search: every proposal is a uniform sample of the space. Samples already proposed
/// are redrawn (up to `maxRedraws` times) because re-querying a known architecture spends
/// budget and teaches nothing; the baseline of Li & Talwalkar (2019) and of NAS-Bench-201.
///
/// With several workers: nothing changes — tells are ignored, and pending proposals count as
/// proposed, so outstanding asks never repeat one another either.
public struct RandomSearch<Space: SearchSpace & Codable>: HyperparameterizedStrategy {
    public struct Hyperparameters: Codable, Equatable, Sendable {
        /// Redraws allowed when a sample was already proposed, before accepting a duplicate.
        public var maxRedraws: Int = 100
        public init() {}
    }

    public static var name: String { "random" }

    public var space: Space
    public let hyperparameters: Hyperparameters
    var rng: SeededGenerator
    var proposed: Set<Space.Architecture> = []

    public init(space: Space, hyperparameters: Hyperparameters = .init(), seed: UInt64) throws {
        guard hyperparameters.maxRedraws >= 0 else { throw StrategyError.invalidHyperparameter("max_redraws must be ≥ 0") }
        self.space = space
        self.hyperparameters = hyperparameters
        self.rng = SeededGenerator(seed: seed)
    }

    public mutating func ask() throws -> Proposal<Space.Architecture> {
        var a = space.sample(using: &rng)
        var redraws = 0
        while proposed.contains(a), redraws < hyperparameters.maxRedraws {
            a = space.sample(using: &rng)
            redraws += 1
        }
        proposed.insert(a)
        return Proposal(a)
    }

    public mutating func tell(_ observation: Observation<Space.Architecture>) throws {}
}
