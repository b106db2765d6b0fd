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
///
/// With several workers: asks hand out the current architecture's unevaluated neighbours without
/// waiting for earlier ones' results, and the move (or restart) is decided when the last of them
/// is told. An ask that finds every neighbour handed out while some results are still pending
/// proposes a random unseen architecture instead: it is an ordinary observation unless the
/// search is restarting when it is told, in which case it (like any result told while
/// restarting) becomes the new starting point. A result for an architecture that is no pending
/// neighbour of the current one is only remembered.
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
    /// Architectures asked for and not yet told, oldest first (one entry per ask). Optional so
    /// that a state saved before it existed still restores (nil reads as none).
    var pendingAsks: [Space.Architecture]?

    public init(space: Space, hyperparameters: Hyperparameters = .init(), seed: UInt64) throws {
        self.space = space
        self.hyperparameters = hyperparameters
        self.rng = SeededGenerator(seed: seed)
    }

    public mutating func ask() throws -> Proposal<Space.Architecture> {
        let a = nextArchitecture()
        pendingAsks = (pendingAsks ?? []) + [a]
        return Proposal(a)
    }

    private mutating func nextArchitecture() -> Space.Architecture {
        let pending = pendingAsks ?? []
        while true {
            if restarting { return randomUnseen(pending) }
            while let next = queue.popLast() {
                if let v = known[next] { consider(next, v); continue }
                // Handed out already (e.g. as a random draw): its tell counts as this neighbour's.
                if pending.contains(next) { continue }
                return next
            }
            // Neighbourhood handed out but results still pending: explore instead of waiting.
            if !improvedFirst, let current, hasPendingNeighbor(of: current, pending) { return randomUnseen(pending) }
            // Neighbourhood done without an open proposal: move or restart.
            advance()
        }
    }

    /// A random architecture neither known nor pending (if one turns up in 100 redraws).
    private mutating func randomUnseen(_ pending: [Space.Architecture]) -> Space.Architecture {
        var a = space.sample(using: &rng)
        var redraws = 0
        while known[a] != nil || pending.contains(a), redraws < 100 { a = space.sample(using: &rng); redraws += 1 }
        return a
    }

    public mutating func tell(_ observation: Observation<Space.Architecture>) throws {
        let a = observation.architecture
        var pending = pendingAsks ?? []
        if let i = pending.firstIndex(of: a) { pending.remove(at: i) }
        pendingAsks = pending
        known[a] = observation.objective
        if restarting {
            restarting = false
            setCurrent(a, observation.objective)
            return
        }
        // Only a neighbour of the current architecture that was handed out (no longer queued)
        // belongs to the neighbourhood being evaluated; anything else is just remembered.
        guard let current, !queue.contains(a), space.neighbors(of: current).contains(a) else { return }
        consider(a, observation.objective)
        if queue.isEmpty, improvedFirst || !hasPendingNeighbor(of: current, pending) { advance() }
    }

    /// First improvement has found a better neighbour: no need to wait for the rest.
    private var improvedFirst: Bool { hyperparameters.firstImprovement && bestNeighborValue > currentValue }

    private func hasPendingNeighbor(of a: Space.Architecture, _ pending: [Space.Architecture]) -> Bool {
        if pending.isEmpty { return false }
        let neighbors = space.neighbors(of: a)
        return pending.contains { neighbors.contains($0) }
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
