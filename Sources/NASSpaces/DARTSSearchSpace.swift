import Foundation
import NASNN
import NASTensor

/// DARTS's CNN space as a `SearchSpace`: architectures are the decisions of `DARTSSpace.space`
/// (an operation on each kept edge, two inputs per node, normal and reduction cell), written
/// and read in DARTS's genotype notation. Trials of a DARTS-space search store that notation.
public struct DARTSSearchSpace: SearchSpace, Codable, Equatable {
    public typealias Architecture = ArchitectureChoices

    public init() {}

    public var name: String { "darts" }

    private var space: ModelSpace { DARTSSpace.space }

    public func sample(using rng: inout some RandomNumberGenerator) -> ArchitectureChoices {
        var generator = SeededGenerator(seed: rng.next())
        return space.uniform(mask: space.fullMask, using: &generator)
    }

    /// One decision re-drawn until it differs: another operation on a kept edge, or another
    /// input pair for a node (a newly kept edge gets a random operation).
    public func mutate(_ a: ArchitectureChoices, using rng: inout some RandomNumberGenerator) -> ArchitectureChoices {
        var generator = SeededGenerator(seed: rng.next())
        let movable = space.decisions.indices.filter { space.isUsed(a, decision: $0) }
        while true {
            let d = movable[Int(generator.next() % UInt64(movable.count))]
            var b = a
            b.choices[d] = space.draw(d, mask: space.fullMask, using: &generator)
            b = space.repaired(b, mask: space.fullMask, using: &generator)
            if b != a { return b }
        }
    }

    /// Every architecture with one kept edge's operation changed, in decision then operation order.
    public func neighbors(of a: ArchitectureChoices) -> [ArchitectureChoices] {
        var out: [ArchitectureChoices] = []
        let allowed = space.discrete(space.fullMask)
        for (r, d) in space.rows.enumerated() where space.isUsed(a, decision: d) {
            for k in 0..<space.width where allowed[r][k] && k != a.choices[d][0] {
                var b = a
                b.choices[d] = [k]
                out.append(b)
            }
        }
        return out
    }

    /// One indicator per (edge, operation); an edge no node keeps is all zeros, so the inputs
    /// are encoded too. Both encodings give this vector (path encodings of DARTS cells are not
    /// enumerable at a useful length).
    public func encode(_ a: ArchitectureChoices, as encoding: ArchitectureEncoding) -> [Float] {
        var v = [Float](repeating: 0, count: encodingLength(encoding))
        for (r, d) in space.rows.enumerated() where a.choices[d][0] >= 0 { v[r * space.width + a.choices[d][0]] = 1 }
        return v
    }

    public func encodingLength(_ encoding: ArchitectureEncoding) -> Int { space.rows.count * space.width }

    public func describe(_ a: ArchitectureChoices) -> String {
        (try? DARTSSpace.genotype(a).description) ?? "invalid DARTS architecture \(a.choices)"
    }

    public func parse(_ s: String) throws -> ArchitectureChoices {
        DARTSSpace.architecture(try DARTSGenotype(parsing: s))
    }
}
