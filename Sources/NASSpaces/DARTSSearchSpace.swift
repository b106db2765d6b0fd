import Foundation
import NASNN
import NASTensor

/// DARTS's CNN space as a `SearchSpace`: architectures are the decisions of `DARTSSpace.space`
/// (an operation on each kept edge, two inputs per node, normal and reduction cell), written
/// and read in DARTS's genotype notation. Trials of a DARTS-space search store that notation.
///
/// Mutation re-draws one decision (another operation on a kept edge, or another input pair for a
/// node; a newly kept edge gets a random operation); neighbours change one kept edge's
/// operation; both encodings are one indicator per (edge, operation), an edge no node keeps all
/// zeros, so the inputs are encoded too (path encodings of DARTS cells are not enumerable at a
/// useful length).
public struct DARTSSearchSpace: ModelSpaceSearchSpace, Codable, Equatable {
    public init() {}

    public var name: String { "darts" }

    public var modelSpace: ModelSpace { DARTSSpace.space }

    public func describe(_ a: ArchitectureChoices) -> String {
        (try? DARTSSpace.genotype(a).description) ?? "invalid DARTS architecture \(a.choices)"
    }

    public func parse(_ s: String) throws -> ArchitectureChoices {
        DARTSSpace.architecture(try DARTSGenotype(parsing: s))
    }
}
