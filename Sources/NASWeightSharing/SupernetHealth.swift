import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// What a weight-sharing run does when the collapse detector fires.
public enum CollapseAction: String, CaseIterable, Codable, Sendable {
    /// Log a warning and go on (the trajectory is exactly the run without the detector).
    case warn
    /// End the stage at the epoch the detector fired and derive from the architecture then.
    case stop
    /// End the stage and restore the architecture parameters of the epoch whose derived cell
    /// had the best validation accuracy.
    case rollback
}

/// One epoch of a stage's health record.
public struct EpochHealth: Equatable, Sendable {
    public var stage: String
    public var epoch: Int
    public var architecture: ArchitectureChoices
    /// The derived architecture in the space's notation.
    public var cell: String
    /// Used layer choices of the derived architecture whose op has no parameters (`none`,
    /// `skip_connect`, pooling), out of `choices`.
    public var parameterFree: Int
    public var choices: Int
    /// Accuracy of the derived architecture as a path of the supernet, batch norm recalibrated, on the
    /// architecture half's first `evaluation_images` (the selection rule of SPOS and few-shot NAS).
    public var validationAccuracy: Double
    /// The detector fired at this epoch.
    public var collapse: Bool

    public var parameterFreeShare: Double { Double(parameterFree) / Double(max(choices, 1)) }
}

/// The supernet health check every run with a per-epoch architecture gets (DARTS, DARTS-2nd,
/// few-shot DARTS, DNAL, MdeNAS): after each epoch the derived cell, its parameter-free share
/// and its validation accuracy are logged, and the collapse detector looks for the signature
/// of DARTS's failure — the derived cell filling with parameter-free ops while its accuracy
/// no longer improves.
///
/// The rule (docs/weight_sharing.md): the detector fires at the first epoch e where
/// - the derived cell has a parameter-free share of at least `collapse_share`, and
/// - the best validation accuracy of the derived cells so far was reached at least
///   `collapse_patience` epochs before e (it has stalled).
/// With `on_collapse=stop` or `rollback` the stage then ends; rollback restores the
/// architecture parameters of the best epoch.
public struct HealthProbe {
    /// The supernet a derived cell is scored in.
    public var net: any Supernet
    /// The stage's architecture parameters (α, or MdeNAS's probabilities), restored on rollback.
    public var architecture: Tensor
    /// The architecture the stage's method would return now.
    public var derive: () -> ArchitectureChoices
}

public enum SupernetHealth {
    /// Scores `cell` in `net` without changing the supernet: the batch-norm running statistics
    /// that recalibration overwrites are put back.
    static func validationAccuracy(_ net: any Supernet, cell: ArchitectureChoices, calibration: [Batch], data: Dataset) -> Double {
        let norms = net.namedModules().compactMap { $0.1 as? BatchNorm }
        let saved = norms.map { ($0.runningMean.copy(), $0.runningVar.copy()) }
        defer { for (bn, (m, v)) in zip(norms, saved) { bn.runningMean.assign(m); bn.runningVar.assign(v) } }
        return PathEvaluation.score(net, cell: cell, calibration: calibration, data: data)
    }

    /// The detector's decision for a stage whose accuracies so far are `accuracies` (the
    /// current epoch last) and whose current cell has `share`.
    public static func fires(accuracies: [Double], share: Double, threshold: Double, patience: Int) -> Bool {
        guard share >= threshold - 1e-9, let best = bestEpoch(accuracies) else { return false }
        return accuracies.count - 1 - best >= patience
    }

    /// Index of the first maximum.
    static func bestEpoch(_ accuracies: [Double]) -> Int? {
        accuracies.indices.max { (accuracies[$0], $1) < (accuracies[$1], $0) }
    }
}
