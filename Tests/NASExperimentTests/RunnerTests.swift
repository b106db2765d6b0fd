import Foundation
import NASBench
@testable import NASExperiment
import NASSpaces
import NASStrategies
import XCTest

final class RunnerTests: XCTestCase {
    func testBudgetsStopTheSearchAndSmallerBudgetsArePrefixes() throws {
        let estimator = NB201TabularEstimator(table: try SharedTable.require())
        var r = SearchRequest()
        r.strategy = "hyperband"
        r.budget = Budget(cost: 2_000)
        let small = try NB201Search.runner(r, estimator: estimator, store: InMemoryTrialStore()).run()
        // Stops at the first trial that reaches the cost budget.
        XCTAssertGreaterThanOrEqual(small.cost, 2_000)
        XCTAssertLessThan(small.cost - (small.trials.last?.cost ?? 0), 2_000)
        r.budget = Budget(cost: 6_000)
        let large = try NB201Search.runner(r, estimator: estimator, store: InMemoryTrialStore()).run()
        XCTAssertEqual(large.trials.prefix(small.trials.count).map(\.architecture), small.trials.map(\.architecture))

        r.strategy = "random"
        r.budget = Budget(queries: 7)
        let q = try NB201Search.runner(r, estimator: estimator, store: InMemoryTrialStore()).run()
        XCTAssertEqual(q.queries, 7)
        XCTAssertEqual(q.cost, 7 * 12)
    }

    func testTheStrategySeesTheObjectiveAndTheReportIsTheTestAccuracy() throws {
        let table = try SharedTable.require()
        let estimator = NB201TabularEstimator(table: table)
        var r = SearchRequest()
        r.strategy = "rea"
        r.budget = Budget(queries: 50)
        let s = try NB201Search.runner(r, estimator: estimator, store: InMemoryTrialStore()).run()
        let best = try XCTUnwrap(s.trials.max { ($0.objective ?? 0) < ($1.objective ?? 0) })
        let cell = try NB201Cell(parsing: best.architecture)
        XCTAssertEqual(s.incumbent?.objective, table.value(.nb201C10ValidValid12, for: cell))
        XCTAssertEqual(s.incumbent?.report, table.value(.natsC10Test200, for: cell))

        r.objective = "nb201_c10valid_valid_200"
        let s200 = try NB201Search.runner(r, estimator: estimator, store: InMemoryTrialStore()).run()
        XCTAssertEqual(s200.trials.first?.fidelity, 200)
        XCTAssertEqual(s200.cost, 50 * 200)

        r.objective = "nb201_c10valid_valid_13"
        XCTAssertThrowsError(try NB201Search.runner(r, estimator: estimator, store: InMemoryTrialStore()))
    }

    func testIncumbentPrefersTheHighestFidelity() {
        var t = IncumbentTracker(reportMetric: "test")
        func trial(_ n: Int, _ fidelity: Int, _ objective: Double) -> TrialRecord {
            TrialRecord(number: n, architecture: "a\(n)", fidelity: fidelity, role: .search, status: .complete,
                        objective: objective, cost: Double(fidelity), metrics: ["test": Double(n)],
                        askedAt: Date(), askSeconds: 0)
        }
        XCTAssertTrue(t.update(trial(0, 12, 80)))
        XCTAssertTrue(t.update(trial(1, 200, 70)))
        XCTAssertFalse(t.update(trial(2, 12, 85)))
        XCTAssertFalse(t.update(trial(3, 200, 70)))
        XCTAssertTrue(t.update(trial(4, 200, 71)))
        XCTAssertEqual(t.incumbent?.trial, 4)
        XCTAssertEqual(t.incumbent?.report, 4)
    }

    func testHyperparameterOverridesAreCheckedByName() throws {
        let space = NB201SearchSpace()
        let (_, resolved) = try StrategyCatalog.make("bananas", overrides: ["acquisition": "ucb", "epochs": "20"], space: space, seed: 0)
        XCTAssertEqual(resolved["acquisition"], "\"ucb\"")
        XCTAssertEqual(resolved["epochs"], "20")
        XCTAssertEqual(try StrategyCatalog.make("bohb", overrides: ["rungs": "12,200"], space: space, seed: 0).hyperparameters["rungs"], "[12,200]")
        XCTAssertThrowsError(try StrategyCatalog.make("rea", overrides: ["tournament": "3"], space: space, seed: 0)) { error in
            XCTAssertTrue("\(error)".contains("'tournament' is not a hyper-parameter of rea; it has population, sample_size"), "\(error)")
        }
        XCTAssertThrowsError(try StrategyCatalog.make("rea", overrides: ["population": "many"], space: space, seed: 0)) { error in
            XCTAssertTrue("\(error)".contains("population=many"), "\(error)")
        }
        XCTAssertThrowsError(try StrategyCatalog.make("annealing", space: space, seed: 0)) { error in
            XCTAssertTrue("\(error)".contains("unknown strategy 'annealing'"), "\(error)")
        }
    }

    /// The hand-written export timestamps are Foundation's ISO 8601 with milliseconds.
    func testExportTimestampsMatchFoundationsISO8601() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for t in [0, 1.5, 1_796_598_846.614, 951_782_400.999, 4_102_444_799.001, 1_234_567_890.0004, 1_796_598_846.6138] {
            let d = Date(timeIntervalSince1970: t)
            XCTAssertEqual(TrialExport.iso(d), f.string(from: d), "\(t)")
        }
    }

    /// Stored metrics read back exactly, through the fast path or JSONDecoder; bad text is refused.
    func testStoredMetricsReadBackExactly() throws {
        let metrics: [String: Double] = ["nb201_c10valid_valid_12": 84.892000015, "params_m": 0.316346, "naswot_score_v1": -2372.4408222856405,
                                         "tiny": 1e-300, "negative_zero": -0.0]
        let record = TrialRecord(number: 0, architecture: "a", fidelity: nil, role: .search, status: .complete, metrics: metrics,
                                 askedAt: Date(), askSeconds: 0)
        XCTAssertEqual(try TrialRecord.metrics(fromJSON: record.metricsJSON), metrics)
        XCTAssertEqual(try TrialRecord.metrics(fromJSON: "{}"), [:])
        XCTAssertEqual(try TrialRecord.metrics(fromJSON: "{ \"a\" : 1 }"), ["a": 1])  // not the stores' form: JSONDecoder
        for bad in ["", "{", "{\"a\":}", "[1]", "{\"a\":\"x\"}"] {
            XCTAssertThrowsError(try TrialRecord.metrics(fromJSON: bad), bad)
        }
    }
}
