import Foundation
import NASBench
import NASSpaces
@testable import NASStrategies
import NASTensor
import XCTest

/// Parallel workers share one strategy through a database: its state is loaded, one ask or one
/// tell is applied, and it is saved again. These tests run that loop on the NAS-Bench-201 table
/// with several asks outstanding and tells coming back in a shuffled order.
final class AsynchronousStrategyTests: XCTestCase {
    let space = NB201SearchSpace()

    /// What one simulated search did.
    struct Simulation {
        var proposals: [Proposal<NB201Cell>] = []
        /// Architectures told in answer to an ask (stray tells not included).
        var told: [NB201Cell] = []
        /// Best objective told at the full fidelity.
        var best = -Double.infinity
    }

    /// The table's CIFAR-10 validation accuracy at the proposal's fidelity (200 epochs when none).
    func objective(_ table: NB201Table, _ cell: NB201Cell, _ fidelity: Fidelity?) throws -> Double {
        let column: NB201Column = fidelity?.epochs == 12 ? .nb201C10ValidValid12 : .nb201C10ValidValid200
        return try XCTUnwrap(table.value(column, for: cell), "no \(column) for \(cell)")
    }

    /// `workers` asks kept outstanding, answered in a seeded random order until `tells` tells, the
    /// state saved and restored around every operation when `roundTrip`. With `strays`, every
    /// 16th tell is followed by a tell nobody is waiting for: an architecture told a second time
    /// (a trial re-queued after its worker died, told late) or one never asked for.
    func simulate<S: Strategy>(_ make: () throws -> S, workers: Int, tells: Int, seed: UInt64 = 7,
                               roundTrip: Bool = true, strays: Bool = false) throws -> Simulation
        where S.Space == NB201SearchSpace {
        let table = try SharedTable.require()
        var s = try make()
        var order = SeededGenerator(seed: seed)
        var sim = Simulation()
        var outstanding: [Proposal<NB201Cell>] = []
        var toldObservations: [Observation<NB201Cell>] = []
        func restore() throws { if roundTrip { s = try S(space: space, state: try s.state()) } }
        while sim.told.count < tells {
            while outstanding.count < workers {
                try restore()
                let p = try s.ask()
                outstanding.append(p)
                sim.proposals.append(p)
            }
            try restore()
            let p = outstanding.remove(at: order.uniformIndex(below: outstanding.count))
            let fidelity = p.fidelity ?? Fidelity(epochs: 200)
            let o = Observation(architecture: p.architecture, fidelity: fidelity,
                                objective: try objective(table, p.architecture, fidelity), cost: Double(fidelity.epochs))
            try s.tell(o)
            sim.told.append(p.architecture)
            toldObservations.append(o)
            if fidelity.epochs == 200 { sim.best = max(sim.best, o.objective) }
            if strays, sim.told.count % 16 == 0 {
                try restore()
                if sim.told.count % 32 == 0 {
                    try s.tell(toldObservations[order.uniformIndex(below: toldObservations.count)])
                } else {
                    let a = space.sample(using: &order)
                    try s.tell(Observation(architecture: a, fidelity: Fidelity(epochs: 200),
                                           objective: try objective(table, a, nil), cost: 200))
                }
            }
        }
        return sim
    }

    var smallBananas: Bananas<NB201SearchSpace>.Hyperparameters {
        var h = Bananas<NB201SearchSpace>.Hyperparameters()
        h.ensembleSize = 2; h.epochs = 15; h.candidates = 30
        return h
    }

    var smallController: ControllerReinforce<NB201SearchSpace>.Hyperparameters {
        var h = ControllerReinforce<NB201SearchSpace>.Hyperparameters()
        h.embeddingSize = 8; h.hiddenSize = 16
        return h
    }

    var smallNAO: NAO<NB201SearchSpace>.Hyperparameters {
        var h = NAO<NB201SearchSpace>.Hyperparameters()
        h.firstEpochs = 20; h.epochs = 5; h.unlabelledSamples = 50; h.ascentSeeds = 10; h.maxAscentSteps = 5
        h.proposalsPerRound = 5
        return h
    }

    var smallCTNAS: CTNASHyperparameters {
        var h = CTNASHyperparameters()
        h.firstEpochs = 20; h.epochs = 5; h.controllerSteps = 2; h.rollouts = 8; h.candidateSamples = 50; h.pairsPerStep = 32
        h.proposalsPerRound = 5
        return h
    }

    var bohb: Hyperband<NB201SearchSpace>.Hyperparameters {
        var h = Hyperband<NB201SearchSpace>.Hyperparameters()
        h.sampler = .kde
        return h
    }

    /// Runs `check` on every catalog strategy (by catalog name, built directly with small models
    /// where it has any), with a suggested number of tells and a function that simulates it.
    func forEachStrategy(_ check: (String, Int, (_ workers: Int, _ tells: Int, _ roundTrip: Bool, _ strays: Bool) throws -> Simulation) throws -> Void)
        rethrows {
        let space = self.space
        let (b, n, c, kde, lstm) = (smallBananas, smallNAO, smallCTNAS, bohb, smallController)
        func runner<S: Strategy>(_ make: @escaping () throws -> S) -> (Int, Int, Bool, Bool) throws -> Simulation
            where S.Space == NB201SearchSpace {
            { try self.simulate(make, workers: $0, tells: $1, roundTrip: $2, strays: $3) }
        }
        try check("random", 100, runner { try RandomSearch(space: space, seed: 1) })
        try check("rea", 100, runner { try RegularizedEvolution(space: space, seed: 1) })
        try check("reinforce", 100, runner { try Reinforce(space: space, seed: 1) })
        try check("reinforce-lstm", 80, runner { try ControllerReinforce(space: space, hyperparameters: lstm, seed: 1) })
        try check("ls", 100, runner { try LocalSearch(space: space, seed: 1) })
        try check("bananas", 60, runner { try Bananas(space: space, hyperparameters: b, seed: 1) })
        try check("hyperband", 100, runner { try Hyperband(space: space, seed: 1) })
        try check("bohb", 100, runner { try Hyperband(space: space, hyperparameters: kde, seed: 1) })
        try check("nao", 60, runner { try NAO(space: space, hyperparameters: n, seed: 1) })
        try check("ctnas", 60, runner { try CTNAS(space: space, hyperparameters: c, seed: 1) })
    }

    func testFourWorkersWithShuffledTellsAndStateRoundTrips() throws {
        let table = try SharedTable.require()
        let values = table.column(.nb201C10ValidValid200).filter { !$0.isNaN }.sorted()
        let median = values[values.count / 2]
        forEachStrategy { name, tells, run in
            let sim: Simulation
            do { sim = try run(4, tells, true, true) } catch {
                XCTFail("\(name) threw \(error)")
                return
            }
            XCTAssertEqual(sim.told.count, tells, name)
            var asked: [NB201Cell: Int] = [:]
            for p in sim.proposals { asked[p.architecture, default: 0] += 1 }
            for a in sim.told {
                XCTAssertGreaterThan(asked[a, default: 0], 0, "\(name) was told \(a), which it never asked for")
                asked[a, default: 0] -= 1
            }
            let distinct = Set(sim.proposals.map(\.architecture)).count
            XCTAssertGreaterThan(Double(distinct), 0.4 * Double(sim.proposals.count),
                                 "\(name) proposed only \(distinct) distinct architectures in \(sim.proposals.count) asks")
            if name == "hyperband" || name == "bohb" {
                let epochs = Set(sim.proposals.compactMap { $0.fidelity?.epochs })
                XCTAssertEqual(epochs, [12, 200], "\(name) fidelities")
            }
            if name == "random" || name == "rea" {
                XCTAssertGreaterThan(sim.best, median, "\(name) found nothing better than the table's median")
            }
        }
    }

    /// With one worker, saving and restoring the state around every operation (as the database
    /// does) changes nothing.
    func testAlternatingWithStateRoundTripsMatchesWithout() throws {
        try forEachStrategy { name, tells, run in
            let steps = name == "bohb" ? 70 : min(tells, 35)
            let plain = try run(1, steps, false, false).proposals
            let stored = try run(1, steps, true, false).proposals
            XCTAssertEqual(plain.count, steps, name)
            XCTAssertEqual(stored, plain, "\(name) diverged when its state was round-tripped")
        }
    }

    /// With several workers the search is still a function of the seed and the order of tells.
    func testAsynchronousRunsAreDeterministic() throws {
        try forEachStrategy { name, _, run in
            guard ["rea", "ls", "hyperband", "bananas"].contains(name) else { return }
            XCTAssertEqual(try run(3, 40, true, false).proposals, try run(3, 40, false, false).proposals, name)
        }
    }

    /// Hyperband with several workers: asks never block, every result lands in the stage it was
    /// asked for, and promotions still go to the best of each stage.
    func testHyperbandStartsTheNextBracketInsteadOfWaiting() throws {
        var hb = try Hyperband(space: space, seed: 0)
        // Bracket s=1 stage 0 has three architectures at 12 epochs; the fourth ask starts bracket s=0.
        let first = try (0..<4).map { _ in try hb.ask() }
        XCTAssertEqual(first.map { $0.fidelity?.epochs }, [12, 12, 12, 200])
        XCTAssertEqual(hb.runs.count, 2)
        // Tell the 12-epoch ones in reverse order; the best is promoted to 200 epochs.
        let values = [3.0, 9.0, 5.0]
        for i in [2, 1, 0] {
            try hb.tell(Observation(architecture: first[i].architecture, fidelity: Fidelity(epochs: 12), objective: values[i], cost: 12))
        }
        let promoted = try hb.ask()
        XCTAssertEqual(promoted, Proposal(first[1].architecture, fidelity: Fidelity(epochs: 200)))
        // A late duplicate and a tell nobody asked for change no stage.
        try hb.tell(Observation(architecture: first[0].architecture, fidelity: Fidelity(epochs: 12), objective: 99, cost: 12))
        try hb.tell(Observation(architecture: first[3].architecture, fidelity: Fidelity(epochs: 12), objective: 99, cost: 12))
        XCTAssertEqual(hb.runs.map(\.stageObjectives), [[], []])
        XCTAssertEqual(hb.observations[0].count, 5)
        var restored = try Hyperband<NB201SearchSpace>(space: space, state: try hb.state())
        XCTAssertEqual(try restored.ask(), try hb.ask())
    }

    /// Local search hands out the whole neighbourhood before any result is back, then explores
    /// instead of moving before the neighbourhood's results are in.
    func testLocalSearchProposesNeighboursWhileResultsArePending() throws {
        var ls = try LocalSearch(space: space, seed: 2)
        let start = try ls.ask().architecture
        try ls.tell(Observation(architecture: start, fidelity: nil, objective: 50, cost: 1))
        let neighbors = Set(space.neighbors(of: start))
        let asks = try (0..<(neighbors.count + 3)).map { _ in try ls.ask().architecture }
        XCTAssertEqual(Set(asks.prefix(neighbors.count)), neighbors)
        XCTAssertEqual(Set(asks).count, asks.count, "nothing is proposed twice")
        // Results in reverse order; the best neighbour becomes the current architecture.
        for (i, a) in asks.prefix(neighbors.count).enumerated().reversed() {
            try ls.tell(Observation(architecture: a, fidelity: nil, objective: a == asks[5] ? 80 : Double(i), cost: 1))
        }
        XCTAssertEqual(ls.current, asks[5])
        XCTAssertEqual(ls.pendingAsks?.count, 3)
    }

    /// States written before pending asks were recorded (the keys this change added removed)
    /// still restore, and a search resumed from one right after an ask continues exactly as
    /// the uninterrupted search does.
    func testStatesWithoutPendingAsksStillResume() throws {
        func check<S: Strategy>(_ make: () throws -> S, newKeys: [String], steps: Int, splits: [Int]) throws
            where S.Space == NB201SearchSpace {
            let table = try SharedTable.require()
            func observe(_ p: Proposal<NB201Cell>) throws -> Observation<NB201Cell> {
                let f = p.fidelity ?? Fidelity(epochs: 200)
                return Observation(architecture: p.architecture, fidelity: f, objective: try objective(table, p.architecture, f),
                                   cost: Double(f.epochs))
            }
            var whole = try make()
            var expected: [Proposal<NB201Cell>] = []
            for _ in 0..<steps { let p = try whole.ask(); expected.append(p); try whole.tell(try observe(p)) }
            for split in splits {
                var s = try make()
                var got: [Proposal<NB201Cell>] = []
                for _ in 0..<split { let p = try s.ask(); got.append(p); try s.tell(try observe(p)) }
                let p = try s.ask()
                got.append(p)
                // The state as the older code wrote it: no pending asks.
                var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: try s.state()) as? [String: Any])
                for key in newKeys { json.removeValue(forKey: key) }
                s = try S(space: space, state: try JSONSerialization.data(withJSONObject: json))
                try s.tell(try observe(p))
                for _ in (split + 1)..<steps { let p = try s.ask(); got.append(p); try s.tell(try observe(p)) }
                XCTAssertEqual(got, expected, "\(S.name) resumed from an old-style state after \(split) trials")
            }
        }
        try check({ try LocalSearch(space: space, seed: 4) }, newKeys: ["pendingAsks"], steps: 60, splits: [0, 1, 7, 26, 41])
        let hbKeys = ["runSerial", "laterRuns", "runsStarted", "latestBracket", "pending"]
        try check({ try Hyperband(space: space, seed: 4) }, newKeys: hbKeys, steps: 30, splits: [0, 2, 3, 5, 11])
        let kde = bohb
        try check({ try Hyperband(space: space, hyperparameters: kde, seed: 4) }, newKeys: hbKeys, steps: 70, splits: [40, 63])
        var nw = TrainingFreeSearch<NB201SearchSpace>.Hyperparameters()
        nw.samples = 8
        try check({ try TrainingFreeSearch(space: space, hyperparameters: nw, seed: 4) }, newKeys: ["scored"], steps: 9, splits: [3, 7])
    }

    /// Training-free search waits for every sample's score before it picks the final architecture.
    func testTrainingFreeSearchChoosesOnlyOnceEverySampleIsScored() throws {
        var h = TrainingFreeSearch<NB201SearchSpace>.Hyperparameters()
        h.samples = 10
        var s = try TrainingFreeSearch(space: space, hyperparameters: h, seed: 0)
        var outstanding = try (0..<4).map { _ in try s.ask() }
        var scores: [NB201Cell: Double] = [:]
        var final: Proposal<NB201Cell>?
        var asks = 4
        while final == nil {
            let p = outstanding.removeFirst()
            scores[p.architecture] = Double(p.architecture.code)   // distinct: no ties
            try s.tell(Observation(architecture: p.architecture, fidelity: nil, objective: scores[p.architecture] ?? 0, cost: 1))
            let next = try s.ask()
            asks += 1
            if next.role == .final { final = next } else { outstanding.append(next) }
            XCTAssertLessThan(asks, 20)
        }
        XCTAssertGreaterThanOrEqual(scores.count, 10)
        XCTAssertEqual(final?.architecture, scores.max { $0.value < $1.value }?.key)
    }
}
