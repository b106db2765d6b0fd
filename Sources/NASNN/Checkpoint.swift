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

    public func write(to url: URL) throws {
        var all: [String: Tensor] = [:]
        for (k, v) in model { all["model.\(k)"] = v }
        for (k, v) in optimizer { all["optimizer.\(k)"] = v }
        try Safetensors.write(all, metadata: metadata, to: url)
    }

    public static func read(_ url: URL) throws -> Checkpoint {
        let (tensors, metadata) = try Safetensors.read(url)
        var c = Checkpoint(model: [:], optimizer: [:], metadata: metadata)
        for (k, v) in tensors {
            if k.hasPrefix("model.") { c.model[String(k.dropFirst(6))] = v }
            else if k.hasPrefix("optimizer.") { c.optimizer[String(k.dropFirst(10))] = v }
        }
        return c
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
