import Foundation
import NASSpaces
import NASStrategies

/// Hands the cell a weight-sharing search derived to the experiment runner as its one `final`
/// proposal, so it is evaluated by the run's estimator (the NAS-Bench-201 table) and stored in
/// the trial store like any other trial. The search itself never sees the estimator.
public struct DerivedArchitectureStrategy: CodableStrategy {
    public typealias Space = NB201SearchSpace
    public static var name: String { "weight-sharing" }
    public var space: NB201SearchSpace
    public let cell: NB201Cell
    public private(set) var proposed = false

    public init(space: NB201SearchSpace, cell: NB201Cell) {
        self.space = space
        self.cell = cell
    }

    public mutating func ask() throws -> Proposal<NB201Cell> {
        guard !proposed else { throw StrategyError.exhausted("the derived architecture was already proposed") }
        proposed = true
        return Proposal(cell, role: .final)
    }

    public mutating func tell(_ observation: Observation<NB201Cell>) throws {}
}
