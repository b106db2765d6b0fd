import Foundation
import NASSpaces
import NASTensor

/// Bayesian optimisation over NAGO's generator parameters (Ru et al., NeurIPS 2020), in ask/tell
/// form: `ask()` returns generator parameters and the seed of the network to sample from them,
/// `tell` the accuracy that network reached. A GP (Matérn-5/2, length scale by marginal
/// likelihood) models accuracy over the 14 parameters in [0, 1].
///
/// Single objective: expected improvement on accuracy. Multi-objective (the default): each step
/// draws a weight λ ∈ [`minWeight`, 1] and maximises EI of the scalarisation
/// λ·acc̃ + (1 − λ)·(1 − log-params̃) (both min–max normalised over the observations) — a
/// ParEGO-style random scalarisation. The parameter count of a candidate is known exactly
/// before training (`NAGONetworkDescription.parameterCount`), so only accuracy is modelled.
/// Candidates: `candidates` uniform points plus `localCandidates` Gaussian perturbations
/// (σ = 0.1) of the current Pareto set.
public struct NAGOBayesianOptimisation: Codable, Sendable {
    public struct Hyperparameters: Codable, Equatable, Sendable {
        public var initialSamples: Int = 8
        public var candidates: Int = 1000
        public var localCandidates: Int = 200
        public var multiObjective: Bool = true
        public var minWeight: Double = 0.2
        public var noise: Double = 0.01
        public init() {}
    }

    public struct Trial: Codable, Equatable, Sendable {
        public var parameters: NAGOParameters
        public var networkSeed: UInt64
        public var accuracy: Double
        public var parameterCount: Int
    }

    public static var name: String { "nago" }

    public let space: NAGOSpace
    public let hyperparameters: Hyperparameters
    public let inputChannels: Int
    public let classes: Int
    var rng: SeededGenerator
    public private(set) var trials: [Trial] = []
    /// The asked trial awaiting its result (accuracy 0 until told).
    var pending: Trial?

    public init(space: NAGOSpace = NAGOSpace(), hyperparameters: Hyperparameters = .init(), inputChannels: Int, classes: Int,
                seed: UInt64) throws {
        guard hyperparameters.initialSamples >= 2, hyperparameters.candidates >= 1 else {
            throw StrategyError.invalidHyperparameter("initial_samples must be ≥ 2 and candidates ≥ 1")
        }
        guard (0...1).contains(hyperparameters.minWeight) else { throw StrategyError.invalidHyperparameter("min_weight must be in [0, 1]") }
        self.space = space
        self.hyperparameters = hyperparameters
        self.inputChannels = inputChannels
        self.classes = classes
        rng = SeededGenerator(seed: seed)
    }

    public func state() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return try e.encode(self)
    }

    public init(state: Data) throws {
        do { self = try JSONDecoder().decode(Self.self, from: state) } catch {
            throw StrategyError.badState("nago: \(error)")
        }
    }

    /// The network a trial trains.
    public func network(_ p: NAGOParameters, seed: UInt64) -> NAGONetworkDescription {
        var g = SeededGenerator(seed: seed)
        return space.sampleNetwork(p, using: &g)
    }

    public func parameterCount(_ p: NAGOParameters, seed: UInt64) -> Int {
        network(p, seed: seed).parameterCount(inputChannels: inputChannels, classes: classes)
    }

    /// Next generator parameters and network seed (the same until `tell`).
    public mutating func ask() -> (parameters: NAGOParameters, networkSeed: UInt64) {
        if let p = pending { return (p.parameters, p.networkSeed) }
        let seed = rng.next()
        let p = trials.count < hyperparameters.initialSamples ? space.sampleParameters(using: &rng) : acquire(seed: seed)
        pending = Trial(parameters: p, networkSeed: seed, accuracy: 0, parameterCount: parameterCount(p, seed: seed))
        return (p, seed)
    }

    public mutating func tell(accuracy: Double) throws {
        guard var t = pending else { throw StrategyError.badState("nago: tell without a pending ask") }
        t.accuracy = accuracy
        trials.append(t)
        pending = nil
    }

    /// Indices of the trials on the Pareto front (higher accuracy, fewer parameters), by size.
    public static func paretoFront(_ trials: [Trial]) -> [Int] {
        let idx = trials.indices.filter { i in
            !trials.indices.contains { j in
                j != i && trials[j].accuracy >= trials[i].accuracy && trials[j].parameterCount <= trials[i].parameterCount
                    && (trials[j].accuracy > trials[i].accuracy || trials[j].parameterCount < trials[i].parameterCount)
            }
        }
        return idx.sorted { (trials[$0].parameterCount, $0) < (trials[$1].parameterCount, $1) }
    }

    mutating func acquire(seed: UInt64) -> NAGOParameters {
        let h = hyperparameters
        let gp = GaussianProcess(inputs: trials.map(\.parameters.values), targets: trials.map(\.accuracy), noise: h.noise)
        let accs = trials.map(\.accuracy)
        let accLow = accs.min()!, accRange = Swift.max(accs.max()! - accLow, 1e-9)
        let logs = trials.map { Foundation.log(Double($0.parameterCount)) }
        let logLow = logs.min()!, logRange = Swift.max(logs.max()! - logLow, 1e-9)
        let lambda = h.multiObjective ? h.minWeight + (1 - h.minWeight) * rng.unitDouble() : 1
        func sizeTerm(_ count: Int) -> Double { (1 - lambda) * (1 - (Foundation.log(Double(count)) - logLow) / logRange) }
        let best = trials.map { lambda * ($0.accuracy - accLow) / accRange + sizeTerm($0.parameterCount) }.max()!

        var candidates = (0..<h.candidates).map { _ in space.sampleParameters(using: &rng) }
        let front = Self.paretoFront(trials)
        for k in 0..<h.localCandidates where !front.isEmpty {
            let base = trials[front[k % front.count]].parameters.values
            candidates.append(NAGOParameters(values: base.map { $0 + 0.1 * Double(rng.nextNormal()) }))
        }
        var bestCandidate = candidates[0]
        var bestScore = -Double.infinity
        for c in candidates {
            let (mu, sigma) = gp.predict(c.values)
            let mean = lambda * (mu - accLow) / accRange + sizeTerm(parameterCount(c, seed: seed))
            let ei = GaussianProcess.expectedImprovement(mean: mean, std: lambda * sigma / accRange, best: best)
            if ei > bestScore { bestScore = ei; bestCandidate = c }
        }
        return bestCandidate
    }
}
