import NASTensor

/// A model whose training loss has more than the main cross-entropy (DARTS's auxiliary head):
/// after a training forward pass the trainer adds `auxiliaryLoss(targets:)` when it is not nil.
public protocol AuxiliaryLoss: AnyObject {
    func auxiliaryLoss(targets: [Int]) -> Tensor?
}

/// A model that changes with the epoch (DARTS's drop-path rate grows linearly): the trainer
/// calls this before each training epoch, also when a resumed run starts mid-way.
public protocol EpochScheduled: AnyObject {
    func beginTrainingEpoch(_ epoch: Int, of epochs: Int)
}
