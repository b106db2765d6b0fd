import NASSpaces

/// An architecture with the objective it was told: the training data of a model-based strategy.
struct LabelledArchitecture<Architecture: Hashable & Codable & Sendable>: Codable, Equatable, Sendable {
    var architecture: Architecture
    var objective: Double
}

/// What a model-based strategy (BANANAS, NAO, CTNAS) keeps between asks, part of its saved
/// state: the labelled architectures its model trains on, every architecture it has proposed
/// (none is proposed twice), and the rest of the last round's proposals.
public struct ModelBasedState<Architecture: Hashable & Codable & Sendable>: Codable, Sendable {
    var history: [LabelledArchitecture<Architecture>] = []
    var proposed: Set<Architecture> = []
    /// The last round's proposals not yet asked for, next last.
    var queue: [Architecture] = []

    public init() {}

    /// The `k` best labelled architectures, each once, best first.
    func best(_ k: Int) -> [Architecture] {
        var result: [Architecture] = []
        var seen = Set<Architecture>()
        for o in history.sorted(by: { $0.objective > $1.objective }) where seen.insert(o.architecture).inserted {
            if result.count == k { break }
            result.append(o.architecture)
        }
        return result
    }
}

public protocol ModelBasedHyperparameters {
    /// Random architectures proposed before the model is first trained.
    var initialSamples: Int { get }
}

/// The loop BANANAS, NAO and CTNAS share: random architectures until `initialSamples` have been
/// proposed and two are labelled; then one model round (train on the history, rank new
/// candidates) per batch of proposals, and a random unproposed architecture whenever a round
/// finds nothing new.
///
/// With several workers: batch proposals. Asks take the current round's ranking in order, and
/// pending proposals count as proposed, so none is handed out twice and a new round never
/// ranks one again; tells (in any order, asked or not) join the training data of the next round.
/// The model is refitted once per round (`proposalsPerRound` asks), as with one worker.
public protocol ModelBasedStrategy: HyperparameterizedStrategy where Hyperparameters: ModelBasedHyperparameters {
    var modelBased: ModelBasedState<Architecture> { get set }
    /// One draw from the space with the strategy's own generator.
    mutating func randomArchitecture() -> Architecture
    /// Trains the model on the history and returns the next proposals, best first; none of
    /// them proposed before.
    mutating func round() throws -> [Architecture]
}

extension ModelBasedStrategy {
    public mutating func ask() throws -> Proposal<Architecture> {
        if modelBased.proposed.count < hyperparameters.initialSamples || modelBased.history.count < 2 {
            return Proposal(fresh())
        }
        if modelBased.queue.isEmpty { modelBased.queue = try round().reversed() }
        guard let next = modelBased.queue.popLast() else { return Proposal(fresh()) }
        modelBased.proposed.insert(next)
        return Proposal(next)
    }

    public mutating func tell(_ observation: Observation<Architecture>) throws {
        modelBased.history.append(LabelledArchitecture(architecture: observation.architecture, objective: observation.objective))
    }

    /// A random architecture not proposed before (if one turns up in 100 redraws).
    mutating func fresh() -> Architecture {
        var a = randomArchitecture()
        var redraws = 0
        while modelBased.proposed.contains(a), redraws < 100 { a = randomArchitecture(); redraws += 1 }
        modelBased.proposed.insert(a)
        return a
    }
}

/// `items` ordered by `scores`, highest first; equal scores keep their order in `items`.
func bestFirst<Item, Score: Comparable>(_ items: [Item], scores: [Score]) -> [Item] {
    items.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.map { items[$0] }
}
