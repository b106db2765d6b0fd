import Foundation
import NASSpaces
import NASTensor

/// Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, JMLR 2018) and, with the
/// `kde` sampler, BOHB (Falkner, Klein & Hutter, ICML 2018), over a ladder of fidelities.
///
/// The rungs are the estimator's fidelities (12 and 200 epochs on NAS-Bench-201), so
/// s_max = rungs − 1. Bracket s (s = s_max … 0, then again) starts n = ⌈(s_max+1)/(s+1)·ηˢ⌉
/// architectures at rung s_max − s and runs successive halving: after each rung only the best
/// ⌊n/ηⁱ⌋ move up to the next one, until rung s_max. With η = 3 and two rungs a round is
/// 3 architectures at 12 epochs of which the best goes on to 200, then 2 straight at 200.
///
/// Hyperband draws new architectures uniformly. BOHB draws them from a TPE-style model: at the
/// highest rung with enough results it splits the architectures into the best `topNPercent`
/// and the rest, fits a categorical KDE to each (l for good, g for bad), draws `numSamples`
/// candidates from l and proposes the one with the largest l/g; a `randomFraction` of draws
/// stays uniform. Defaults are the BOHB paper's (ρ = 1/3, 64 samples, top 15 %, bandwidth
/// factor 3, minimum bandwidth 1e-3).
///
/// Every proposal carries its fidelity, and the experiment charges its cost (epochs), so a
/// budget in simulated cost is what makes Hyperband comparable to single-fidelity search.
public struct Hyperband<Space: CategoricalSearchSpace & Codable>: HyperparameterizedStrategy {
    public enum Sampler: String, Codable, Sendable { case random, kde }

    public struct Hyperparameters: Codable, Equatable, Sendable {
        public var eta: Double = 3
        /// Fidelity ladder in epochs, lowest first.
        public var rungs: [Int] = [12, 200]
        public var sampler: Sampler = .random
        public var topNPercent: Double = 15
        public var numSamples: Int = 64
        public var randomFraction: Double = 1.0 / 3.0
        public var bandwidthFactor: Double = 3
        public var minBandwidth: Double = 1e-3
        public init() {}
    }

    public static var name: String { "hyperband" }

    public var space: Space
    public let hyperparameters: Hyperparameters
    var rng: SeededGenerator
    /// Bracket being run (counts down from s_max).
    var bracket: Int
    /// Successive-halving stage within the bracket.
    var stage = 0
    /// Architectures of the current stage not yet proposed, next last.
    var queue: [Space.Architecture] = []
    /// Results of the current stage.
    var stageResults: [(Space.Architecture, Double)] = []
    /// Size of the current stage.
    var stageSize = 0
    /// Every result per rung index, for BOHB's model: (choices, objective).
    var observations: [[Observed]]
    var started = false

    struct Observed: Codable, Equatable {
        var choices: [Int]
        var objective: Double
    }

    enum CodingKeys: String, CodingKey {
        case space, hyperparameters, rng, bracket, stage, queue, stageArchitectures, stageObjectives,
             stageSize, observations, started
    }

    public init(space: Space, hyperparameters h: Hyperparameters = .init(), seed: UInt64) throws {
        guard h.eta > 1, h.eta.isFinite else { throw StrategyError.invalidHyperparameter("eta must be a number > 1") }
        // The first stage of the largest bracket has about rungs · eta^(rungs−1) members.
        guard Double(h.rungs.count) * Foundation.pow(h.eta, Double(max(h.rungs.count - 1, 0))) <= 1e6 else {
            throw StrategyError.invalidHyperparameter("eta \(h.eta) with \(h.rungs.count) rungs makes brackets of over a million architectures")
        }
        guard !h.rungs.isEmpty, h.rungs == h.rungs.sorted(), Set(h.rungs).count == h.rungs.count, h.rungs[0] > 0 else {
            throw StrategyError.invalidHyperparameter("rungs must be distinct positive epochs in increasing order")
        }
        guard (0...1).contains(h.randomFraction), h.numSamples >= 1, h.topNPercent > 0, h.topNPercent < 100 else {
            throw StrategyError.invalidHyperparameter("need random_fraction in [0, 1], num_samples ≥ 1, top_n_percent in (0, 100)")
        }
        self.space = space
        self.hyperparameters = h
        self.rng = SeededGenerator(seed: seed)
        self.bracket = h.rungs.count - 1
        self.observations = Array(repeating: [], count: h.rungs.count)
    }

    var sMax: Int { hyperparameters.rungs.count - 1 }

    public func checkRestoredFields() throws {
        guard (0...sMax).contains(bracket), (0...bracket).contains(stage) else {
            throw StrategyError.badState("bracket \(bracket), stage \(stage) do not fit \(sMax + 1) rungs")
        }
        guard (0...stageCount(bracket: sMax, stage: 0)).contains(stageSize), stageResults.count <= stageSize,
              queue.count <= stageSize else {
            throw StrategyError.badState("stage of \(stageSize) with \(stageResults.count) results and \(queue.count) queued")
        }
        guard observations.count == hyperparameters.rungs.count else {
            throw StrategyError.badState("observations for \(observations.count) rungs, not \(hyperparameters.rungs.count)")
        }
        let counts = space.choiceCounts
        for o in observations.joined() {
            guard o.choices.count == counts.count, zip(o.choices, counts).allSatisfy({ (0..<$1).contains($0) }) else {
                throw StrategyError.badState("an observation has choices \(o.choices), outside the space")
            }
        }
    }

    /// Number of architectures stage `i` of bracket `s` evaluates.
    func stageCount(bracket s: Int, stage i: Int) -> Int {
        let eta = hyperparameters.eta
        let n = Int((Double(sMax + 1) / Double(s + 1) * Foundation.pow(eta, Double(s))).rounded(.up))
        return max(Int((Double(n) * Foundation.pow(eta, -Double(i))).rounded(.down)), 1)
    }

    /// Rung index (into `rungs`) of stage `i` of bracket `s`.
    func rung(bracket s: Int, stage i: Int) -> Int { sMax - s + i }

    public mutating func ask() throws -> Proposal<Space.Architecture> {
        if !started {
            started = true
            startBracket()
        }
        if queue.isEmpty, stageResults.count >= stageSize { advance() }
        guard let next = queue.popLast() else {
            throw StrategyError.exhausted("hyperband asked again before the previous proposal was told")
        }
        return Proposal(next, fidelity: Fidelity(epochs: hyperparameters.rungs[rung(bracket: bracket, stage: stage)]))
    }

    public mutating func tell(_ observation: Observation<Space.Architecture>) throws {
        stageResults.append((observation.architecture, observation.objective))
        let r = rung(bracket: bracket, stage: stage)
        observations[r].append(Observed(choices: space.choices(of: observation.architecture), objective: observation.objective))
    }

    /// Moves to the next stage of the bracket, or to the next bracket.
    private mutating func advance() {
        if stage < bracket {
            let keep = stageCount(bracket: bracket, stage: stage + 1)
            // Best first; ties keep the earlier result.
            let order = stageResults.indices.sorted {
                stageResults[$0].1 > stageResults[$1].1 || (stageResults[$0].1 == stageResults[$1].1 && $0 < $1)
            }
            queue = order.prefix(keep).map { stageResults[$0].0 }.reversed()
            stage += 1
            stageSize = queue.count
            stageResults = []
        } else {
            bracket = bracket == 0 ? sMax : bracket - 1
            startBracket()
        }
    }

    private mutating func startBracket() {
        stage = 0
        stageSize = stageCount(bracket: bracket, stage: 0)
        stageResults = []
        var fresh: [Space.Architecture] = []
        var inBracket = Set<Space.Architecture>()
        for _ in 0..<stageSize {
            var a = draw()
            var redraws = 0
            while !inBracket.insert(a).inserted, redraws < 100 { a = draw(); redraws += 1 }
            fresh.append(a)
        }
        queue = fresh.reversed()
    }

    /// One new architecture: uniform, or from BOHB's model when it can be fitted.
    private mutating func draw() -> Space.Architecture {
        let h = hyperparameters
        guard h.sampler == .kde, rng.unitDouble() >= h.randomFraction, let (good, bad) = densityModels() else {
            return space.sample(using: &rng)
        }
        var best: [Int] = []
        var bestRatio = -Double.infinity
        for _ in 0..<h.numSamples {
            let x = good.sample(bandwidthFactor: h.bandwidthFactor, minBandwidth: h.minBandwidth, using: &rng)
            let ratio = max(good.density(x), 1e-32) / max(bad.density(x), 1e-32)
            if ratio > bestRatio { bestRatio = ratio; best = x }
        }
        return space.architecture(choices: best)
    }

    /// The good/bad KDEs at the highest rung with enough results (each set needs more points
    /// than there are decisions, as in BOHB), or nil while no rung has enough.
    private func densityModels() -> (CategoricalKDE, CategoricalKDE)? {
        let counts = space.choiceCounts
        let d = counts.count
        for r in stride(from: observations.count - 1, through: 0, by: -1) {
            let obs = observations[r]
            let n = obs.count
            let nGood = max(d + 1, Int(hyperparameters.topNPercent * Double(n) / 100))
            let nBad = max(d + 1, Int((100 - hyperparameters.topNPercent) * Double(n) / 100))
            guard n >= nGood + d + 1 else { continue }
            let order = obs.indices.sorted { obs[$0].objective > obs[$1].objective || (obs[$0].objective == obs[$1].objective && $0 < $1) }
            let good = order.prefix(nGood).map { obs[$0].choices }
            let bad = order.dropFirst(nGood).prefix(nBad).map { obs[$0].choices }
            return (CategoricalKDE(data: good, counts: counts, minBandwidth: hyperparameters.minBandwidth),
                    CategoricalKDE(data: bad, counts: counts, minBandwidth: hyperparameters.minBandwidth))
        }
        return nil
    }

    // Tuples are not Codable: the stage's results are stored as two parallel arrays.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        space = try c.decode(Space.self, forKey: .space)
        hyperparameters = try c.decode(Hyperparameters.self, forKey: .hyperparameters)
        rng = try c.decode(SeededGenerator.self, forKey: .rng)
        bracket = try c.decode(Int.self, forKey: .bracket)
        stage = try c.decode(Int.self, forKey: .stage)
        queue = try c.decode([Space.Architecture].self, forKey: .queue)
        let archs = try c.decode([Space.Architecture].self, forKey: .stageArchitectures)
        let objectives = try c.decode([Double].self, forKey: .stageObjectives)
        stageResults = Array(zip(archs, objectives))
        stageSize = try c.decode(Int.self, forKey: .stageSize)
        observations = try c.decode([[Observed]].self, forKey: .observations)
        started = try c.decode(Bool.self, forKey: .started)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(space, forKey: .space)
        try c.encode(hyperparameters, forKey: .hyperparameters)
        try c.encode(rng, forKey: .rng)
        try c.encode(bracket, forKey: .bracket)
        try c.encode(stage, forKey: .stage)
        try c.encode(queue, forKey: .queue)
        try c.encode(stageResults.map(\.0), forKey: .stageArchitectures)
        try c.encode(stageResults.map(\.1), forKey: .stageObjectives)
        try c.encode(stageSize, forKey: .stageSize)
        try c.encode(observations, forKey: .observations)
        try c.encode(started, forKey: .started)
    }
}
