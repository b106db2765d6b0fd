import Foundation
import NASArchitectures
import NASTensor

/// Replays a tabular benchmark in real time: each evaluation waits `secondsPerCost` seconds per
/// unit of its simulated cost (per epoch, for the NAS-Bench-201 table) before it returns, the way
/// asynchronous-HPO benchmarks replay tables. Many workers then compete the way they would with
/// real training — what is measured is their coordination, not the machine's cores.
///
/// The results are the table's: the name is the base estimator's, so a search with and without
/// simulated time is the same experiment. The wait polls `StopRequest`, so a stopped worker
/// hands its trial back at once.
public struct SimulatedTimeEstimator<Base: Estimator>: Estimator {
    public typealias Space = Base.Space
    public let base: Base
    public let secondsPerCost: Double

    public init(_ base: Base, secondsPerCost: Double) {
        self.base = base
        self.secondsPerCost = secondsPerCost
    }

    public var name: String { base.name }
    public var fidelities: [Fidelity] { base.fidelities }
    public var costUnit: String { base.costUnit }

    public func evaluate(_ architecture: Space.Architecture, fidelity: Fidelity?) throws -> Evaluation {
        let evaluation = try base.evaluate(architecture, fidelity: fidelity)
        let deadline = Date().addingTimeInterval(max(0, evaluation.cost * secondsPerCost))
        while true {
            try StopRequest.check()
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { break }
            usleep(useconds_t(min(left, 0.02) * 1e6))
        }
        return evaluation
    }
}
