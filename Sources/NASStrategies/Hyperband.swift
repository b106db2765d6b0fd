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
///
/// With several workers: when the current stage has handed out all its architectures but
/// cannot promote yet because results are pending, an ask starts the next bracket's first
/// stage (new architectures at that bracket's lowest rung) alongside it, as BOHB's parallel
/// implementation (HpBandSter) does; asks always serve the oldest run that has work. Each result
/// goes to the stage it was asked for (matched by architecture and fidelity); a result nobody is
/// waiting for (a re-evaluated trial told late) only joins BOHB's model. With one worker there
/// is only ever one run, so the sequence is plain Hyperband's.
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

    /// One successive-halving run through a bracket.
    struct Run: Codable, Equatable {
        /// Identifies the run to the proposals it hands out.
        var serial: Int
        /// Bracket being run (brackets count down from s_max).
        var bracket: Int
        /// Successive-halving stage within the bracket.
        var stage = 0
        /// Architectures of the current stage not yet proposed, next last.
        var queue: [Space.Architecture] = []
        /// Results of the current stage (two parallel arrays: tuples are not Codable).
        var stageArchitectures: [Space.Architecture] = []
        var stageObjectives: [Double] = []
        /// Size of the current stage.
        var stageSize = 0

        /// Every architecture of the stage handed out and told.
        var stageComplete: Bool { queue.isEmpty && stageObjectives.count >= stageSize }
    }

    /// A proposal handed out and not yet told, with the run and stage it belongs to.
    struct Pending: Codable, Equatable {
        var architecture: Space.Architecture
        var rung: Int
        var run: Int
        var stage: Int
    }

    public var space: Space
    public let hyperparameters: Hyperparameters
    var rng: SeededGenerator
    /// Runs in progress, oldest first; never empty. With one worker there is exactly one.
    var runs: [Run]
    /// Runs started so far (the next run's serial).
    var runsStarted = 1
    /// Bracket of the run started last: the next run takes the bracket after it.
    var latestBracket: Int
    /// Proposals handed out and not yet told, oldest first.
    var pending: [Pending] = []
    /// Every result per rung index, for BOHB's model: (choices, objective).
    var observations: [[Observed]]
    var started = false

    struct Observed: Codable, Equatable {
        var choices: [Int]
        var objective: Double
    }

    // The oldest run is stored under the keys a single run always had, so states written before
    // several runs existed still restore; the newer keys are optional.
    enum CodingKeys: String, CodingKey {
        case space, hyperparameters, rng, bracket, stage, queue, stageArchitectures, stageObjectives,
             stageSize, observations, started, runSerial, laterRuns, runsStarted, latestBracket, pending
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
        self.runs = [Run(serial: 0, bracket: h.rungs.count - 1)]
        self.latestBracket = h.rungs.count - 1
        self.observations = Array(repeating: [], count: h.rungs.count)
    }

    var sMax: Int { hyperparameters.rungs.count - 1 }

    public func checkRestoredFields() throws {
        guard !runs.isEmpty else { throw StrategyError.badState("no successive-halving run") }
        for run in runs {
            guard (0...sMax).contains(run.bracket), (0...run.bracket).contains(run.stage) else {
                throw StrategyError.badState("bracket \(run.bracket), stage \(run.stage) do not fit \(sMax + 1) rungs")
            }
            let waiting = pending.filter { $0.run == run.serial && $0.stage == run.stage }.count
            guard (0...stageCount(bracket: sMax, stage: 0)).contains(run.stageSize),
                  run.stageArchitectures.count == run.stageObjectives.count,
                  run.stageObjectives.count + run.queue.count + waiting <= run.stageSize else {
                throw StrategyError.badState("stage of \(run.stageSize) with \(run.stageObjectives.count) results, "
                    + "\(run.queue.count) queued and \(waiting) pending")
            }
            try RestoredState.counter(run.serial, "run serial")
        }
        try RestoredState.counter(runsStarted, "runs_started")
        guard (0...sMax).contains(latestBracket) else { throw StrategyError.badState("latest bracket \(latestBracket) outside 0…\(sMax)") }
        guard pending.allSatisfy({ (0..<hyperparameters.rungs.count).contains($0.rung) }) else {
            throw StrategyError.badState("a pending proposal is at a rung outside \(hyperparameters.rungs)")
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

    /// The bracket run after bracket `s`.
    func bracket(after s: Int) -> Int { s == 0 ? sMax : s - 1 }

    public mutating func ask() throws -> Proposal<Space.Architecture> {
        if !started {
            started = true
            startBracket(0)
        }
        // The oldest run with an architecture to hand out; a run whose stage is complete moves on.
        var i = 0
        while i < runs.count {
            if runs[i].stageComplete {
                advance(i)
                continue
            }
            if let proposal = handOut(i) { return proposal }
            i += 1
        }
        // Every run waits for pending results: start the next bracket alongside them.
        startNextRun()
        guard let proposal = handOut(runs.count - 1) else {
            throw StrategyError.exhausted("hyperband: a new bracket has no architectures")
        }
        return proposal
    }

    /// The next architecture of run `i`'s current stage, recorded as pending; nil when none is left.
    private mutating func handOut(_ i: Int) -> Proposal<Space.Architecture>? {
        guard let next = runs[i].queue.popLast() else { return nil }
        let r = rung(bracket: runs[i].bracket, stage: runs[i].stage)
        pending.append(Pending(architecture: next, rung: r, run: runs[i].serial, stage: runs[i].stage))
        return Proposal(next, fidelity: Fidelity(epochs: hyperparameters.rungs[r]))
    }

    public mutating func tell(_ observation: Observation<Space.Architecture>) throws {
        let a = observation.architecture, value = observation.objective
        let rungs = hyperparameters.rungs
        let told = observation.fidelity?.epochs
        var rungIndex: Int?
        if let k = pending.firstIndex(where: { $0.architecture == a && (told == nil || rungs[$0.rung] == told) }) {
            let p = pending.remove(at: k)
            rungIndex = p.rung
            if let ri = runs.firstIndex(where: { $0.serial == p.run }), runs[ri].stage == p.stage { record(a, value, in: ri) }
        } else if started, let first = runs.first, legacyProposalOutstanding(first),
                  told == nil || told == rungs[rung(bracket: first.bracket, stage: first.stage)] {
            // Asked before pending proposals were recorded (a state saved by an older version).
            rungIndex = rung(bracket: first.bracket, stage: first.stage)
            record(a, value, in: 0)
        } else if let told {
            rungIndex = rungs.firstIndex(of: told)
        }
        if let r = rungIndex {
            observations[r].append(Observed(choices: space.choices(of: a), objective: value))
        }
    }

    /// Whether `run`'s stage handed out a proposal that is neither told nor recorded as pending.
    private func legacyProposalOutstanding(_ run: Run) -> Bool {
        let waiting = pending.filter { $0.run == run.serial && $0.stage == run.stage }.count
        return run.stageObjectives.count + waiting < run.stageSize - run.queue.count
    }

    private mutating func record(_ a: Space.Architecture, _ value: Double, in i: Int) {
        guard runs[i].stageObjectives.count < runs[i].stageSize else { return }
        runs[i].stageArchitectures.append(a)
        runs[i].stageObjectives.append(value)
    }

    /// Moves run `i` to the next stage of its bracket, or ends it; when no run is left the next
    /// bracket starts.
    private mutating func advance(_ i: Int) {
        let run = runs[i]
        if run.stage < run.bracket {
            let keep = stageCount(bracket: run.bracket, stage: run.stage + 1)
            let ys = run.stageObjectives
            // Best first; ties keep the earlier result.
            let order = ys.indices.sorted { ys[$0] > ys[$1] || (ys[$0] == ys[$1] && $0 < $1) }
            runs[i].queue = order.prefix(keep).map { run.stageArchitectures[$0] }.reversed()
            runs[i].stage += 1
            runs[i].stageSize = runs[i].queue.count
            runs[i].stageArchitectures = []
            runs[i].stageObjectives = []
        } else {
            runs.remove(at: i)
            if runs.isEmpty { startNextRun() }
        }
    }

    /// Starts a run of the bracket after the latest one.
    private mutating func startNextRun() {
        latestBracket = bracket(after: latestBracket)
        runs.append(Run(serial: runsStarted, bracket: latestBracket))
        runsStarted += 1
        startBracket(runs.count - 1)
    }

    /// Fills stage 0 of run `i`'s bracket with new architectures.
    private mutating func startBracket(_ i: Int) {
        let size = stageCount(bracket: runs[i].bracket, stage: 0)
        runs[i].stage = 0
        runs[i].stageSize = size
        runs[i].stageArchitectures = []
        runs[i].stageObjectives = []
        var fresh: [Space.Architecture] = []
        var inBracket = Set<Space.Architecture>()
        for _ in 0..<size {
            var a = draw()
            var redraws = 0
            while !inBracket.insert(a).inserted, redraws < 100 { a = draw(); redraws += 1 }
            fresh.append(a)
        }
        runs[i].queue = fresh.reversed()
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

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        space = try c.decode(Space.self, forKey: .space)
        hyperparameters = try c.decode(Hyperparameters.self, forKey: .hyperparameters)
        rng = try c.decode(SeededGenerator.self, forKey: .rng)
        let first = Run(serial: try c.decodeIfPresent(Int.self, forKey: .runSerial) ?? 0,
                        bracket: try c.decode(Int.self, forKey: .bracket),
                        stage: try c.decode(Int.self, forKey: .stage),
                        queue: try c.decode([Space.Architecture].self, forKey: .queue),
                        stageArchitectures: try c.decode([Space.Architecture].self, forKey: .stageArchitectures),
                        stageObjectives: try c.decode([Double].self, forKey: .stageObjectives),
                        stageSize: try c.decode(Int.self, forKey: .stageSize))
        runs = [first] + (try c.decodeIfPresent([Run].self, forKey: .laterRuns) ?? [])
        runsStarted = try c.decodeIfPresent(Int.self, forKey: .runsStarted) ?? ((runs.map(\.serial).max() ?? 0) + 1)
        latestBracket = try c.decodeIfPresent(Int.self, forKey: .latestBracket) ?? (runs.last?.bracket ?? 0)
        pending = try c.decodeIfPresent([Pending].self, forKey: .pending) ?? []
        observations = try c.decode([[Observed]].self, forKey: .observations)
        started = try c.decode(Bool.self, forKey: .started)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(space, forKey: .space)
        try c.encode(hyperparameters, forKey: .hyperparameters)
        try c.encode(rng, forKey: .rng)
        let first = runs.first ?? Run(serial: 0, bracket: sMax)
        try c.encode(first.serial, forKey: .runSerial)
        try c.encode(first.bracket, forKey: .bracket)
        try c.encode(first.stage, forKey: .stage)
        try c.encode(first.queue, forKey: .queue)
        try c.encode(first.stageArchitectures, forKey: .stageArchitectures)
        try c.encode(first.stageObjectives, forKey: .stageObjectives)
        try c.encode(first.stageSize, forKey: .stageSize)
        if runs.count > 1 { try c.encode(Array(runs.dropFirst()), forKey: .laterRuns) }
        try c.encode(runsStarted, forKey: .runsStarted)
        try c.encode(latestBracket, forKey: .latestBracket)
        if !pending.isEmpty { try c.encode(pending, forKey: .pending) }
        try c.encode(observations, forKey: .observations)
        try c.encode(started, forKey: .started)
    }
}
