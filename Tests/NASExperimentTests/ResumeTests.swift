import Foundation
import NASBench
import NASExperiment
import NASSpaces
import NASStrategies
import XCTest

final class ResumeTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnas-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func storePath(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func request(_ strategy: String, budget: Budget, seed: UInt64 = 0, params: [String: String] = [:]) -> SearchRequest {
        var r = SearchRequest()
        r.strategy = strategy
        r.seed = seed
        r.budget = budget
        r.hyperparameters = params
        return r
    }

    /// What must be equal between an interrupted-and-resumed run and an uninterrupted one.
    func signature(_ trials: [TrialRecord]) -> [String] {
        trials.map { "\($0.number) \($0.architecture) \($0.fidelity ?? 0) \($0.status) \($0.objective ?? .nan) \($0.cost ?? .nan)" }
    }

    func testKilledRunsResumeToTheUninterruptedResult() throws {
        let estimator = NB201TabularEstimator(table: try SharedTable.require())
        let cases: [(String, Budget, [String: String])] = [
            ("rea", Budget(queries: 40), [:]),
            ("reinforce", Budget(queries: 30), [:]),
            ("ls", Budget(queries: 40), [:]),
            ("bananas", Budget(queries: 25), ["ensemble_size": "2", "epochs": "10", "candidates": "20"]),
            ("bohb", Budget(cost: 3_000), [:]),
        ]
        for (name, budget, params) in cases {
            let r = request(name, budget: budget, seed: 7, params: params)
            let reference = try NB201Search.runner(r, estimator: estimator, store: InMemoryTrialStore()).run()

            // Killed between trials, then killed after an ask whose tell never happened.
            let path = storePath("\(name).sqlite")
            let first = try NB201Search.runner(r, estimator: estimator, store: try SQLiteTrialStore(path: path))
            first.stopAfterTrials = 9
            XCTAssertEqual(try first.run().trials.count, 9)
            let second = try NB201Search.runner(r, estimator: estimator, store: try SQLiteTrialStore(path: path))
            second.stopAfterAskOfTrial = 14
            let partial = try second.run()
            XCTAssertEqual(partial.trials.last?.status, .asked, name)
            XCTAssertEqual(try SQLiteTrialStore(path: path).trials().last?.status, .asked, name)

            let third = try NB201Search.runner(r, estimator: estimator, store: try SQLiteTrialStore(path: path))
            let resumed = try third.run()
            XCTAssertEqual(resumed.resumedTrials, 14, name)
            XCTAssertEqual(signature(resumed.trials), signature(reference.trials), name)
            XCTAssertEqual(resumed.incumbent, reference.incumbent, name)
            XCTAssertEqual(signature(try SQLiteTrialStore(path: path).trials()), signature(reference.trials), name)

            // Running the finished search again changes nothing.
            let again = try NB201Search.runner(r, estimator: estimator, store: try SQLiteTrialStore(path: path)).run()
            XCTAssertEqual(signature(again.trials), signature(reference.trials), name)
        }
    }

    func testStoresWithoutStateResumeByReplay() throws {
        let estimator = NB201TabularEstimator(table: try SharedTable.require())
        let r = request("rea", budget: Budget(queries: 30), seed: 2)
        let reference = try NB201Search.runner(r, estimator: estimator, store: InMemoryTrialStore()).run()
        let store = InMemoryTrialStore(keepsStrategyState: false)
        let first = try NB201Search.runner(r, estimator: estimator, store: store)
        first.stopAfterAskOfTrial = 12
        _ = try first.run()
        let resumed = try NB201Search.runner(r, estimator: estimator, store: store).run()
        XCTAssertEqual(signature(resumed.trials), signature(reference.trials))
    }

    func testADifferentConfigurationIsRefusedWithTheDifferences() throws {
        let estimator = NB201TabularEstimator(table: try SharedTable.require())
        let path = storePath("mismatch.sqlite")
        _ = try NB201Search.runner(request("rea", budget: Budget(queries: 5)), estimator: estimator,
                                   store: try SQLiteTrialStore(path: path)).run()
        let other = request("rea", budget: Budget(queries: 5), seed: 1, params: ["sample_size": "5"])
        XCTAssertThrowsError(try NB201Search.runner(other, estimator: estimator, store: try SQLiteTrialStore(path: path)).run()) { error in
            guard case let TrialStoreError.configurationMismatch(_, differences) = error else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(differences, ["hyper-parameter sample_size: stored 3, requested 5", "seed: stored 0, requested 1"])
            XCTAssertTrue("\(error)".contains(path))
        }
        let otherBudget = request("rea", budget: Budget(queries: 6))
        XCTAssertThrowsError(try NB201Search.runner(otherBudget, estimator: estimator, store: try SQLiteTrialStore(path: path)).run()) { error in
            XCTAssertTrue("\(error)".contains("budget.queries: stored 5, requested 6"), "\(error)")
        }
    }

    func testStoreUsesWALAndExports() throws {
        let estimator = NB201TabularEstimator(table: try SharedTable.require())
        let path = storePath("export.sqlite")
        let store = try SQLiteTrialStore(path: path)
        XCTAssertEqual(try store.journalMode(), "wal")
        _ = try NB201Search.runner(request("random", budget: Budget(queries: 4)), estimator: estimator, store: store).run()
        let trials = try store.trials()
        let csv = TrialExport.csv(trials).split(separator: "\n")
        XCTAssertEqual(csv.count, 5)
        XCTAssertTrue(csv[0].hasPrefix("number,architecture,fidelity,role,status,objective,cost,"))
        XCTAssertTrue(csv[0].contains("nats_c10_test_200"))
        XCTAssertTrue(csv[1].hasPrefix("0,\(trials[0].architecture),12,search,complete,"))
        let lines = TrialExport.jsonLines(trials).split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        let object = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        XCTAssertEqual(object?["architecture"] as? String, trials[0].architecture)
        XCTAssertEqual((object?["metrics"] as? [String: Any])?["nats_c10_test_200"] as? Double,
                       trials[0].metrics["nats_c10_test_200"])
    }
}
