import NASArchitectures

/// Evaluates NB201 cells by looking them up in the table: the classic way to benchmark search
/// strategies at no training cost. Each look-up is charged the epochs the real training would
/// have taken (12 or 200), so budgets in "simulated cost" mean what they would on a GPU.
///
/// Every column of the row is returned as a metric, under its table name. The experiment runner
/// shows a strategy only its objective; the other columns (test accuracies in particular) are
/// recorded so that a search can be reported the way the NAS-Bench-201 paper does, never used
/// to steer it.
public struct NB201TabularEstimator: Estimator, Sendable {
    public typealias Space = NB201SearchSpace

    public let table: NB201Table

    public init(table: NB201Table) { self.table = table }

    public var name: String { "nb201-table" }
    public var fidelities: [Fidelity] { [Fidelity(epochs: 12), Fidelity(epochs: 200)] }
    public var costUnit: String { "epochs" }

    public func evaluate(_ cell: NB201Cell, fidelity: Fidelity?) throws -> Evaluation {
        let f = fidelity ?? fidelities.last!
        guard fidelities.contains(f) else { throw EstimatorError.unsupportedFidelity(f, available: fidelities) }
        var metrics: [String: Double] = [:]
        metrics.reserveCapacity(NB201Column.allCases.count)
        for column in NB201Column.allCases {
            if let v = table.value(column, for: cell) { metrics[column.rawValue] = v }
        }
        return Evaluation(metrics: metrics, cost: Double(f.epochs))
    }
}
