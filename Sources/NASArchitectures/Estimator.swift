/// Errors an estimator reports instead of a number.
public enum EstimatorError: Error, CustomStringConvertible, Equatable {
    case unsupportedFidelity(Fidelity, available: [Fidelity])
    case missingMetric(String, architecture: String)

    public var description: String {
        switch self {
        case let .unsupportedFidelity(f, available):
            return "fidelity \(f) is not available; this estimator offers "
                + available.map { "\($0.epochs)" }.joined(separator: ", ") + " epochs"
        case let .missingMetric(m, arch):
            return "metric \(m) is not available for \(arch)"
        }
    }
}

/// Turns an architecture into numbers: a table look-up, a training run, a zero-cost proxy, a
/// supernet evaluation. It is the third axis of a search, next to the space and the strategy.
public protocol Estimator<Space> {
    associatedtype Space: SearchSpace

    /// Short identifier stored with every experiment (e.g. `nb201-table`).
    var name: String { get }
    /// Fidelities this estimator can evaluate at, lowest first; empty when any is accepted.
    var fidelities: [Fidelity] { get }
    /// Unit of `Evaluation.cost` (e.g. `epochs`, `seconds`).
    var costUnit: String { get }

    func evaluate(_ architecture: Space.Architecture, fidelity: Fidelity?) throws -> Evaluation
}
