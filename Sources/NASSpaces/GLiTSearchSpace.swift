import NASNN

/// GLiT's transformer space as a `SearchSpace`: architectures are the paths of
/// `GLiTSpaceConfig.modelSpace`, written and read as `GLiTArchitecture` strings. Trials of a
/// GLiT search store that notation.
public struct GLiTSearchSpace: SearchSpace, Codable, Equatable {
    public typealias Architecture = ArchitectureChoices
    public let config: GLiTSpaceConfig

    public init(config: GLiTSpaceConfig) { self.config = config }

    public var name: String { "glit" }

    private var space: ModelSpace { config.modelSpace }

    public func sample(using rng: inout some RandomNumberGenerator) -> ArchitectureChoices { space.sample(using: &rng) }

    /// One decision of one block re-drawn until it differs.
    public func mutate(_ a: ArchitectureChoices, using rng: inout some RandomNumberGenerator) -> ArchitectureChoices {
        space.mutated(a, using: &rng)
    }

    public func neighbors(of a: ArchitectureChoices) -> [ArchitectureChoices] { space.neighbors(of: a) }

    /// One indicator per (decision, value).
    public func encode(_ a: ArchitectureChoices, as encoding: ArchitectureEncoding) -> [Float] { space.oneHot(a) }

    public func encodingLength(_ encoding: ArchitectureEncoding) -> Int { space.rows.count * space.width }

    public func describe(_ a: ArchitectureChoices) -> String { config.architecture(a).description }

    public func parse(_ s: String) throws -> ArchitectureChoices { try config.path(of: GLiTArchitecture(parsing: s)) }
}
