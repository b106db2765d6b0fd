import Foundation
import NASBench
import NASData
import NASEstimators
import NASExperiment
import NASSpaces
import NASStrategies
import NASTensor
import XCTest

final class TrainingFreeSearchTests: XCTestCase {
    func estimator() throws -> TrainingFreeEstimator {
        let (train, _) = try DatasetReader.idxDirectory(fashionMNIST)
        let d = train.prefix(16).padded(to: 32)
        let scorer = ZeroCostScorer(config: NB201NetworkConfig(channels: 8, cellsPerStage: 1, inputChannels: 1),
                                    batch: Tensor(shape: [16, 32, 32, 1], data: d.images), labels: d.labels)
        return TrainingFreeEstimator(scorer: scorer, proxy: .naswot, seed: 0, table: try Table.require())
    }

    func runner(_ store: any TrialStore, seed: UInt64 = 3) throws -> ExperimentRunner<NB201SearchSpace> {
        var request = SearchRequest()
        request.seed = seed
        return try TrainingFreeSearchSetup.runner(request, samples: 6, trainEpochs: 0, estimator: try estimator(),
                                                  dataDescription: "fashion-mnist", training: nil, store: store)
    }

    func testPicksTheBestScoringSampleAndReportsItFromTheTable() throws {
        let summary = try runner(InMemoryTrialStore()).run()
        XCTAssertEqual(summary.trials.count, 7)
        let search = summary.trials.filter { $0.role == .search }
        XCTAssertEqual(search.count, 6)
        XCTAssertEqual(Set(search.map(\.architecture)).count, 6)
        let best = try XCTUnwrap(search.max { ($0.objective ?? -.infinity) < ($1.objective ?? -.infinity) })
        let final = try XCTUnwrap(summary.finalTrial)
        XCTAssertEqual(final.architecture, best.architecture)
        XCTAssertEqual(final.objective, best.objective)
        let cell = try NB201Cell(parsing: final.architecture)
        XCTAssertEqual(final.metrics["nats_c10_test_200"], try Table.require().value(.natsC10Test200, for: cell))
        XCTAssertEqual(summary.configuration.objective, "naswot")
        XCTAssertEqual(summary.configuration.report, "nats_c10_test_200")
    }

    func testResumesAfterAnInterruptionWithTheSameResult() throws {
        let whole = try runner(InMemoryTrialStore()).run()
        let store = InMemoryTrialStore()
        let first = try runner(store)
        first.stopAfterTrials = 3
        _ = try first.run()
        let resumed = try runner(store).run()
        XCTAssertEqual(resumed.resumedTrials, 3)
        XCTAssertEqual(resumed.trials.map(\.architecture), whole.trials.map(\.architecture))
        XCTAssertEqual(resumed.trials.map(\.objective), whole.trials.map(\.objective))
        // Another seed samples other cells.
        XCTAssertNotEqual(try runner(InMemoryTrialStore(), seed: 4).run().trials.map(\.architecture),
                          whole.trials.map(\.architecture))
    }

    func testStrategyValidatesItsHyperparameters() {
        var h = TrainingFreeSearch<NB201SearchSpace>.Hyperparameters()
        h.samples = 0
        XCTAssertThrowsError(try TrainingFreeSearch(space: NB201SearchSpace(), hyperparameters: h, seed: 0)) { e in
            XCTAssertEqual("\(e)", "invalid hyper-parameter: samples must be > 0")
        }
    }
}
