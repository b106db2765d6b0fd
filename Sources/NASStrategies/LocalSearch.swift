import NASSpaces
import NASTensor

/// Local search (hill climbing), the baseline White, Zela, Ru, Liu & Hutter (2021) found
/// hard to beat on NAS benchmarks.
///
/// Start from a random architecture; evaluate its neighbours (in a random order, so that a
/// budget that ends mid-neighbourhood is not biased towards the first edges), then move to the
/// best neighbour if it beats the current one. When no neighbour improves, the current
/// architecture is a local optimum and the search restarts from a fresh random one.
/// Neighbours whose value is already known are not re-queried.
public struct LocalSearch<Space: SearchSpace & Codable>: HyperparameterizedStrategy {
    public struct Hyperparameters: Codable, Equatable, Sendable {
        /// Move as soon as a neighbour improves (first improvement) instead of after the whole
        /// neighbourhood (best improvement, the paper's default).
        public var firstImprovement: Bool = false
        public init() {}
    }

    public static var name: String { "ls" }

    public var space: Space
    public let hyperparameters: Hyperparameters
    var rng: SeededGenerator
    /// Objective of every architecture seen so far.
    var known: [Space.Architecture: Double] = [:]
    var current: Space.Architecture?
    var currentValue = -Double.infinity
    /// Neighbours of `current` still to evaluate, next last.
    var queue: [Space.Architecture] = []
    var bestNeighbor: Space.Architecture?
    var bestNeighborValue = -Double.infinity
    /// Set while the proposal being evaluated is a restart point rather than a neighbour.
    var restarting = true

    public init(space: Space, hyperparameters: Hyperparameters = .init(), seed: UInt64) throws {
        self.space = space
        self.hyperparameters = hyperparameters
        self.rng = SeededGenerator(seed: seed)
    }

    public mutating func ask() throws -> Proposal<Space.Architecture> {
        while true {
            if restarting {
                var a = space.sample(using: &rng)
                var redraws = 0
                while known[a] != nil, redraws < 100 { a = space.sample(using: &rng); redraws += 1 }
                return Proposal(a)
            }
            while let next = queue.popLast() {
                if let v = known[next] { consider(next, v); continue }
                return Proposal(next)
            }
            // Neighbourhood done without an open proposal: move or restart.
            advance()
        }
    }

    public mutating func tell(_ observation: Observation<Space.Architecture>) throws {
        let a = observation.architecture
        known[a] = observation.objective
        if restarting {
            restarting = false
            setCurrent(a, observation.objective)
            return
        }
        consider(a, observation.objective)
        if queue.isEmpty { advance() }
    }

    private mutating func setCurrent(_ a: Space.Architecture, _ value: Double) {
        current = a
        currentValue = value
        bestNeighbor = nil
        bestNeighborValue = -.infinity
        var n = space.neighbors(of: a)
        // Fisher–Yates with our generator; popLast then visits in shuffled order.
        if n.count > 1 {
            for i in stride(from: n.count - 1, to: 0, by: -1) { n.swapAt(i, rng.uniformIndex(below: i + 1)) }
        }
        queue = n
    }

    private mutating func consider(_ a: Space.Architecture, _ value: Double) {
        if value > bestNeighborValue { bestNeighbor = a; bestNeighborValue = value }
        if hyperparameters.firstImprovement, value > currentValue { queue.removeAll() }
    }

    /// Called when the neighbourhood of `current` is exhausted.
    private mutating func advance() {
        if let n = bestNeighbor, bestNeighborValue > currentValue {
            setCurrent(n, bestNeighborValue)
        } else {
            restarting = true
        }
    }
}
