import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// The reward of Mortazi & Bagci's search: a child network (a `DenseSegNetwork` of the proposed
/// architecture) trained briefly from scratch with one fixed recipe, then scored by its Dice on
/// validation images it never trained on. Reports `valid_dice` and `valid_iou` (in %), the
/// parameter count and the seconds it took; the cost is in epochs. The weights' seed is the
/// recipe's for every child, so two architectures differ only in what they are.
public struct DenseSegTrainingEstimator: Estimator {
    public typealias Space = DenseSegSearchSpace

    public let space: DenseSegSearchSpace
    public let recipe: SegmentationRecipe
    public let train: SegmentationSet
    public let validation: SegmentationSet
    public let stemChannels: Int

    public init(space: DenseSegSearchSpace, recipe: SegmentationRecipe, train: SegmentationSet, validation: SegmentationSet,
                stemChannels: Int = 16) throws {
        try space.validate()
        try recipe.validate()
        let divisor = 1 << space.levels
        guard recipe.tile % divisor == 0 else {
            throw TrainingError.badConfig("--tile must be divisible by 2^levels = \(divisor) (got \(recipe.tile))")
        }
        guard (1...1024).contains(stemChannels) else { throw TrainingError.badConfig("stem channels must be in 1…1024 (got \(stemChannels))") }
        self.space = space
        self.recipe = recipe
        self.train = train
        self.validation = validation
        self.stemChannels = stemChannels
    }

    public var name: String { "dense-seg-train" }
    public var fidelities: [Fidelity] { [] }
    public var costUnit: String { "epochs" }

    /// The child network of `a`, trained with the recipe (`epochs` overrides its length).
    public func trained(_ a: DenseSegArchitecture, epochs: Int? = nil) throws -> SegmentationTrainer {
        var r = recipe
        if let epochs { r.epochs = epochs }
        let net = DenseSegNetwork(a, stemChannels: stemChannels, seed: r.seed)
        let trainer = try SegmentationTrainer(model: net, recipe: r, train: train)
        try trainer.run()
        return trainer
    }

    public func evaluate(_ a: DenseSegArchitecture, fidelity: Fidelity?) throws -> Evaluation {
        let start = Date()
        let epochs = fidelity?.epochs ?? recipe.epochs
        let trainer = try trained(a, epochs: epochs)
        let score = try trainer.evaluate(validation)
        return Evaluation(metrics: ["valid_dice": 100 * score.dice, "valid_iou": 100 * score.iou,
                                    "params": Double(trainer.model.parameterCount),
                                    "train_seconds": Date().timeIntervalSince(start)],
                          cost: Double(epochs))
    }
}
