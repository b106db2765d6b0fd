import Foundation
import NASBench
import NASSpaces

/// Scores NB201 cells with a zero-cost proxy (the metric named after the proxy, e.g. `naswot`);
/// with a table it adds the benchmark's columns for reporting, and asked at a fidelity it also
/// trains the cell for that many epochs with `trainer` (metrics `valid_accuracy`, `test_accuracy`, …).
/// Cost is wall-clock seconds.
public struct TrainingFreeEstimator: Estimator {
    public typealias Space = NB201SearchSpace

    public let scorer: ZeroCostScorer
    public let proxy: ZeroCostProxy
    /// Seed of the freshly initialised networks the proxy scores.
    public let seed: UInt64
    public let table: NB201Table?
    public let trainer: NB201TrainingEstimator?

    public init(scorer: ZeroCostScorer, proxy: ZeroCostProxy, seed: UInt64, table: NB201Table? = nil,
                trainer: NB201TrainingEstimator? = nil) {
        self.scorer = scorer
        self.proxy = proxy
        self.seed = seed
        self.table = table
        self.trainer = trainer
    }

    public var name: String { "zero-cost-\(proxy.rawValue)" }
    public var fidelities: [Fidelity] { [] }
    public var costUnit: String { "seconds" }

    public func evaluate(_ cell: NB201Cell, fidelity: Fidelity?) throws -> Evaluation {
        let start = Date()
        var metrics = [proxy.rawValue: scorer.scores(cell, proxies: [proxy], seed: seed)[proxy]!]
        if let table {
            for column in NB201Column.allCases { if let v = table.value(column, for: cell) { metrics[column.rawValue] = v } }
        }
        if let fidelity {
            guard let trainer else {
                throw EstimatorError.unsupportedFidelity(fidelity, available: [])
            }
            metrics.merge(try trainer.evaluate(cell, fidelity: fidelity).metrics) { $1 }
        }
        return Evaluation(metrics: metrics, cost: Date().timeIntervalSince(start))
    }
}
