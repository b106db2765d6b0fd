import Foundation
import NASTensor

/// A training checkpoint in one safetensors file: model tensors under `model.`, optimizer state
/// under `optimizer.`, and string metadata (epoch, generator state, configuration, …).
public struct Checkpoint {
    public var model: [String: Tensor]
    public var optimizer: [String: Tensor]
    public var metadata: [String: String]

    public init(model: Module, optimizer: (any Optimizer)?, metadata: [String: String]) {
        self.model = model.stateDict()
        self.optimizer = optimizer?.stateTensors() ?? [:]
        self.metadata = metadata
    }

    /// Every tensor under its file name (`model.…`, `optimizer.…`).
    public var allTensors: [String: Tensor] {
        var all: [String: Tensor] = [:]
        for (k, v) in model { all["model.\(k)"] = v }
        for (k, v) in optimizer { all["optimizer.\(k)"] = v }
        return all
    }

    /// A checkpoint from the tensors and metadata of a file, split by name prefix.
    public init(tensors: [String: Tensor], metadata: [String: String]) {
        self.init(model: [:], optimizer: [:], metadata: metadata)
        for (k, v) in tensors {
            if k.hasPrefix("model.") { model[String(k.dropFirst(6))] = v }
            else if k.hasPrefix("optimizer.") { optimizer[String(k.dropFirst(10))] = v }
        }
    }

    public func write(to url: URL) throws {
        try Safetensors.write(allTensors, metadata: metadata, to: url)
    }

    public static func read(_ url: URL) throws -> Checkpoint {
        let (tensors, metadata) = try Safetensors.read(url)
        return Checkpoint(tensors: tensors, metadata: metadata)
    }

    private init(model: [String: Tensor], optimizer: [String: Tensor], metadata: [String: String]) {
        self.model = model; self.optimizer = optimizer; self.metadata = metadata
    }

    /// Restores model weights/buffers and optimizer state.
    public func restore(into module: Module, optimizer: (any Optimizer)?) throws {
        try module.load(stateDict: model)
        try optimizer?.loadState(self.optimizer)
    }
}
