import Foundation
import NASSpaces
import NASStrategies

/// Hands the architecture a weight-sharing search derived to the experiment runner as its one
/// `final` proposal, so it is evaluated by the run's estimator and stored in the trial store
/// like any other trial. The search itself never sees the estimator.
public struct DerivedArchitectureStrategy<Space: SearchSpace & Codable>: CodableStrategy {
    public static var name: String { "weight-sharing" }
    public var space: Space
    public let architecture: Space.Architecture
    public private(set) var proposed = false

    public init(space: Space, architecture: Space.Architecture) {
        self.space = space
        self.architecture = architecture
    }

    public mutating func ask() throws -> Proposal<Space.Architecture> {
        guard !proposed else { throw StrategyError.exhausted("the derived architecture was already proposed") }
        proposed = true
        return Proposal(architecture, role: .final)
    }

    public mutating func tell(_ observation: Observation<Space.Architecture>) throws {}
}

/// The estimator of a space without a benchmark table (DARTS): the search method's own score of
/// the architecture it derived (`search_score`: supernet accuracy on the architecture half for
/// DARTS, SPOS and few-shot; the angle for RLNAS; the probability for MdeNAS; the mean gate for
/// DNAL — `WeightSharingResult.scoreName`), as the search measured it. It grades only that one
/// architecture; a stand-alone accuracy comes from retraining it (`swiftnas train --space darts`).
public struct SearchScoreEstimator<Space: SearchSpace>: Estimator {
    public static var metric: String { "search_score" }
    public let architecture: Space.Architecture
    public let score: Double
    public let epochs: Double

    public init(architecture: Space.Architecture, score: Double, epochs: Double) {
        self.architecture = architecture; self.score = score; self.epochs = epochs
    }

    public var name: String { "supernet" }
    public var fidelities: [Fidelity] { [] }
    public var costUnit: String { "supernet epochs" }

    public func evaluate(_ a: Space.Architecture, fidelity: Fidelity?) throws -> Evaluation {
        guard a == architecture else { throw WeightSharingError.badConfig("the supernet grades only the architecture it derived") }
        return Evaluation(metrics: [Self.metric: score], cost: epochs)
    }
}
