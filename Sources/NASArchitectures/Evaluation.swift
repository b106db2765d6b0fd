/// What an estimator says about one architecture at one fidelity.
public struct Evaluation: Codable, Sendable, Equatable {
    /// Named measurements (accuracies in %, losses, parameter counts, proxy scores...).
    public var metrics: [String: Double]
    /// What obtaining these numbers cost, in the estimator's `costUnit` (for a tabular benchmark,
    /// the training that the table saves us, e.g. epochs; for real training, seconds).
    public var cost: Double

    public init(metrics: [String: Double], cost: Double) {
        self.metrics = metrics
        self.cost = cost
    }
}

/// The quantity a search maximises: a metric name, optionally tied to a fidelity.
///
/// `nb201_c10valid_valid_12` reads as metric family `nb201_c10valid_valid` at 12 epochs; the
/// family lets a multi-fidelity strategy read the same quantity at another fidelity
/// (`nb201_c10valid_valid_200`). A name without an epoch suffix is read as-is at every fidelity.
public struct Objective: Hashable, Codable, Sendable, CustomStringConvertible {
    public var family: String
    /// The fidelity single-fidelity strategies evaluate at; nil when the metric has none.
    public var fidelity: Fidelity?

    public init(family: String, fidelity: Fidelity?) {
        self.family = family
        self.fidelity = fidelity
    }

    /// Splits a trailing `_<epochs>` off a metric name.
    public init(metric: String) {
        if let underscore = metric.lastIndex(of: "_"),
           let epochs = Int(metric[metric.index(after: underscore)...]), epochs > 0 {
            self.init(family: String(metric[..<underscore]), fidelity: Fidelity(epochs: epochs))
        } else {
            self.init(family: metric, fidelity: nil)
        }
    }

    /// The metric key to read from an evaluation made at `fidelity`.
    public func metric(at fidelity: Fidelity?) -> String {
        guard self.fidelity != nil, let f = fidelity ?? self.fidelity else { return family }
        return "\(family)_\(f.epochs)"
    }

    /// The objective's value in an evaluation made at `fidelity`; an estimator that did not give
    /// it is an error naming the metric and the architecture.
    public func value(of evaluation: Evaluation, at fidelity: Fidelity?, architecture: String) throws -> Double {
        let key = metric(at: fidelity)
        guard let value = evaluation.metrics[key] else { throw EstimatorError.missingMetric(key, architecture: architecture) }
        return value
    }

    public var description: String { metric(at: fidelity) }
}
