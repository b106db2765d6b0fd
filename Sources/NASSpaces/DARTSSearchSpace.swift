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

    public func sample(using rng: inout some RandomNumberGenerator) -> ArchitectureChoices { space.sample(using: &rng) }

    /// One decision re-drawn until it differs: another operation on a kept edge, or another
    /// input pair for a node (a newly kept edge gets a random operation).
    public func mutate(_ a: ArchitectureChoices, using rng: inout some RandomNumberGenerator) -> ArchitectureChoices {
        space.mutated(a, using: &rng)
    }

    /// Every architecture with one kept edge's operation changed, in decision then operation order.
    public func neighbors(of a: ArchitectureChoices) -> [ArchitectureChoices] { space.neighbors(of: a) }

    /// One indicator per (edge, operation); an edge no node keeps is all zeros, so the inputs
    /// are encoded too. Both encodings give this vector (path encodings of DARTS cells are not
    /// enumerable at a useful length).
    public func encode(_ a: ArchitectureChoices, as encoding: ArchitectureEncoding) -> [Float] { space.oneHot(a) }

    public func encodingLength(_ encoding: ArchitectureEncoding) -> Int { space.rows.count * space.width }

    public func describe(_ a: ArchitectureChoices) -> String {
        (try? DARTSSpace.genotype(a).description) ?? "invalid DARTS architecture \(a.choices)"
    }

    public func parse(_ s: String) throws -> ArchitectureChoices {
        DARTSSpace.architecture(try DARTSGenotype(parsing: s))
    }
}

/// What a `SearchSpace` over the paths of a `ModelSpace` needs (DARTS's and GLiT's spaces).
extension ModelSpace {
    /// A uniformly random architecture.
    func sample(using rng: inout some RandomNumberGenerator) -> ArchitectureChoices {
        var generator = SeededGenerator(seed: rng.next())
        return uniform(mask: fullMask, using: &generator)
    }

    /// One used decision re-drawn until the architecture differs (repaired: a newly used
    /// choice gets a random value).
    func mutated(_ a: ArchitectureChoices, using rng: inout some RandomNumberGenerator) -> ArchitectureChoices {
        var generator = SeededGenerator(seed: rng.next())
        let movable = decisions.indices.filter { isUsed(a, decision: $0) }
        // Some decision must have another value, or no draw would ever differ.
        let canChange = movable.contains { d in
            if case .input(let chosen) = decisions[d].kind { return decisions[d].candidates.count > chosen }
            return rows.firstIndex(of: d).map { discrete(fullMask)[$0].filter { $0 }.count > 1 } ?? false
        }
        guard canChange else { return a }
        while true {
            let d = movable[Int(generator.next() % UInt64(movable.count))]
            var b = a
            b.choices[d] = draw(d, mask: fullMask, using: &generator)
            b = repaired(b, mask: fullMask, using: &generator)
            if b != a { return b }
        }
    }

    /// Every architecture with one used layer or value choice changed, in decision then candidate order.
    func neighbors(of a: ArchitectureChoices) -> [ArchitectureChoices] {
        var out: [ArchitectureChoices] = []
        let allowed = discrete(fullMask)
        for (r, d) in rows.enumerated() where isUsed(a, decision: d) {
            for k in 0..<width where allowed[r][k] && k != a.choices[d][0] {
                var b = a
                b.choices[d] = [k]
                out.append(b)
            }
        }
        return out
    }

    /// One indicator per (row, candidate); unused rows are all zeros.
    func oneHot(_ a: ArchitectureChoices) -> [Float] {
        var v = [Float](repeating: 0, count: rows.count * width)
        for (r, d) in rows.enumerated() where a.choices[d][0] >= 0 { v[r * width + a.choices[d][0]] = 1 }
        return v
    }
}
