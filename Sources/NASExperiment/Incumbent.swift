/// The architecture a search would return right now, and what it is worth.
public struct Incumbent: Equatable, Sendable {
    public var trial: Int
    public var architecture: String
    public var fidelity: Int?
    public var objective: Double
    /// The report metric (e.g. 200-epoch test accuracy) of this architecture, if the estimator gave it.
    public var report: Double?
}

/// Follows the best trial as results arrive.
///
/// "Best" is the highest objective among trials at the highest fidelity evaluated so far: a
/// 200-epoch result outranks any 12-epoch one, because scores at different fidelities are not
/// comparable and the higher fidelity is the closer to the truth. Ties keep the earlier trial.
public struct IncumbentTracker: Sendable {
    public private(set) var incumbent: Incumbent?
    public let reportMetric: String

    public init(reportMetric: String) { self.reportMetric = reportMetric }

    /// Takes in a completed trial; returns whether it became the incumbent.
    @discardableResult
    public mutating func update(_ trial: TrialRecord) -> Bool {
        guard trial.status == .complete, let objective = trial.objective, !objective.isNaN else { return false }
        let fidelity = trial.fidelity ?? 0
        if let current = incumbent {
            let currentFidelity = current.fidelity ?? 0
            if fidelity < currentFidelity { return false }
            if fidelity == currentFidelity, objective <= current.objective { return false }
        }
        incumbent = Incumbent(trial: trial.number, architecture: trial.architecture, fidelity: trial.fidelity,
                              objective: objective, report: trial.metrics[reportMetric])
        return true
    }
}
