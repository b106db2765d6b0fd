import NASNN

/// GLiT's transformer space as a `SearchSpace`: architectures are the paths of
/// `GLiTSpaceConfig.modelSpace` (mutation changes one decision of one block), written and read
/// as `GLiTArchitecture` strings. Trials of a GLiT search store that notation.
public struct GLiTSearchSpace: ModelSpaceSearchSpace, Codable, Equatable {
    public let config: GLiTSpaceConfig

    public init(config: GLiTSpaceConfig) { self.config = config }

    public var name: String { "glit" }

    public var modelSpace: ModelSpace { config.modelSpace }

    public func describe(_ a: ArchitectureChoices) -> String { config.architecture(a).description }

    public func parse(_ s: String) throws -> ArchitectureChoices { try config.path(of: GLiTArchitecture(parsing: s)) }
}
