import Foundation
import NASSpaces
import NASTensor

/// Bayesian optimisation over NAGO's generator parameters (Ru et al., NeurIPS 2020) as a
/// `Strategy` on `NAGOSpace`: each proposal is generator parameters plus the seed of the one
/// network to sample from them, and the objective it is told is that network's validation
/// accuracy. A GP (Matérn-5/2, length scale by marginal likelihood) models the objective over
/// the 14 parameters in [0, 1].
///
/// Single objective: expected improvement on the objective. Multi-objective (the default): each
/// step draws a weight λ ∈ [`minWeight`, 1] and maximises EI of the scalarisation
/// λ·acc̃ + (1 − λ)·(1 − log-params̃) (both min–max normalised over the observations) — a
/// ParEGO-style random scalarisation. The parameter count of a candidate is known exactly
/// before training (`NAGOSpace.parameterCount(of:)`), so only the objective is modelled.
/// Candidates: `candidates` uniform points plus `localCandidates` Gaussian perturbations
/// (σ = 0.1) of the current Pareto set.
///
/// With several workers: each ask fits the GP to the trials told so far (uniform draws until
/// `initialSamples` are told); every proposal carries its own network seed and draws its own
/// candidates and weight, so outstanding asks differ, and tells may come in any order.
public struct NAGOBayesianOptimisation: HyperparameterizedStrategy {
    public typealias Space = NAGOSpace

    public struct Hyperparameters: Codable, Equatable, Sendable {
        /// Uniform draws before the GP takes over.
        public var initialSamples: Int = 8
        public var candidates: Int = 1000
        public var localCandidates: Int = 200
        public var multiObjective: Bool = true
        public var minWeight: Double = 0.2
        /// Smallest GP noise variance tried (on standardised objectives).
        public var noise: Double = 0.01
        public init() {}
    }

    /// One told trial: what was trained, the objective it reached and its size.
    public struct Trial: Codable, Equatable, Sendable {
        public var architecture: NAGOArchitecture
        public var objective: Double
        public var parameterCount: Int

        public init(architecture: NAGOArchitecture, objective: Double, parameterCount: Int) {
            self.architecture = architecture
            self.objective = objective
            self.parameterCount = parameterCount
        }
    }

    public static var name: String { "nago" }

    public var space: NAGOSpace
    public let hyperparameters: Hyperparameters
    var rng: SeededGenerator
    public private(set) var trials: [Trial] = []

    public init(space: NAGOSpace = NAGOSpace(), hyperparameters: Hyperparameters = .init(), seed: UInt64) throws {
        let h = hyperparameters
        // Upper bounds too: a restored state with a huge count would make one ask run for hours.
        guard (2...100_000).contains(h.initialSamples) else {
            throw StrategyError.invalidHyperparameter("initial_samples must be in 2…100000")
        }
        guard (1...1_000_000).contains(h.candidates), (0...1_000_000).contains(h.localCandidates) else {
            throw StrategyError.invalidHyperparameter("candidates must be in 1…1000000 and local_candidates in 0…1000000")
        }
        guard (0...1).contains(h.minWeight) else { throw StrategyError.invalidHyperparameter("min_weight must be in [0, 1]") }
        guard h.noise.isFinite, h.noise > 0 else { throw StrategyError.invalidHyperparameter("noise must be positive") }
        self.space = space
        self.hyperparameters = h
        rng = SeededGenerator(seed: seed)
    }

    public func checkRestoredFields() throws {
        try RestoredState.finite(trials.map(\.objective), "trials.objective")
        guard trials.allSatisfy({ $0.parameterCount > 0 }) else { throw StrategyError.badState("a trial has no parameters") }
    }

    public mutating func ask() throws -> Proposal<NAGOArchitecture> {
        let seed = rng.next()
        let p = trials.count < hyperparameters.initialSamples ? space.sampleParameters(using: &rng) : acquire(seed: seed)
        return Proposal(NAGOArchitecture(parameters: p, networkSeed: seed))
    }

    public mutating func tell(_ observation: Observation<NAGOArchitecture>) throws {
        guard observation.objective.isFinite else { throw StrategyError.badState("nago: objective \(observation.objective)") }
        trials.append(Trial(architecture: observation.architecture, objective: observation.objective,
                            parameterCount: space.parameterCount(of: observation.architecture)))
    }

    /// Indices of the trials on the Pareto front (higher objective, fewer parameters), by size.
    public static func paretoFront(_ trials: [Trial]) -> [Int] {
        let idx = trials.indices.filter { i in
            !trials.indices.contains { j in
                j != i && trials[j].objective >= trials[i].objective && trials[j].parameterCount <= trials[i].parameterCount
                    && (trials[j].objective > trials[i].objective || trials[j].parameterCount < trials[i].parameterCount)
            }
        }
        return idx.sorted { (trials[$0].parameterCount, $0) < (trials[$1].parameterCount, $1) }
    }

    mutating func acquire(seed: UInt64) -> NAGOParameters {
        let h = hyperparameters
        let gp = GaussianProcess(inputs: trials.map(\.architecture.parameters.values), targets: trials.map(\.objective), noise: h.noise)
        let objectives = trials.map(\.objective)
        let low = objectives.min() ?? 0, range = Swift.max((objectives.max() ?? 0) - low, 1e-9)
        let logs = trials.map { Foundation.log(Double($0.parameterCount)) }
        let logLow = logs.min() ?? 0, logRange = Swift.max((logs.max() ?? 0) - logLow, 1e-9)
        let lambda = h.multiObjective ? h.minWeight + (1 - h.minWeight) * rng.unitDouble() : 1
        func sizeTerm(_ count: Int) -> Double { (1 - lambda) * (1 - (Foundation.log(Double(count)) - logLow) / logRange) }
        let best = trials.map { lambda * ($0.objective - low) / range + sizeTerm($0.parameterCount) }.max() ?? 0

        var candidates = (0..<h.candidates).map { _ in space.sampleParameters(using: &rng) }
        let front = Self.paretoFront(trials)
        for k in 0..<h.localCandidates where !front.isEmpty {
            let base = trials[front[k % front.count]].architecture.parameters.values
            candidates.append(NAGOParameters(values: base.map { $0 + 0.1 * Double(rng.nextNormal()) }))
        }
        var bestCandidate = candidates[0]
        var bestScore = -Double.infinity
        for c in candidates {
            let (mu, sigma) = gp.predict(c.values)
            let count = space.parameterCount(of: NAGOArchitecture(parameters: c, networkSeed: seed))
            let mean = lambda * (mu - low) / range + sizeTerm(count)
            let ei = GaussianProcess.expectedImprovement(mean: mean, std: lambda * sigma / range, best: best)
            if ei > bestScore { bestScore = ei; bestCandidate = c }
        }
        return bestCandidate
    }
}
