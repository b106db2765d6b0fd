import NASNN
import NASTensor

/// A `SearchSpace` whose architectures are the paths of a `ModelSpace` (DARTS's and GLiT's):
/// sampling, mutation, neighbours and the one-hot encoding come from the model space.
public protocol ModelSpaceSearchSpace: SearchSpace where Architecture == ArchitectureChoices {
    var modelSpace: ModelSpace { get }
}

extension ModelSpaceSearchSpace {
    public func sample(using rng: inout some RandomNumberGenerator) -> ArchitectureChoices { modelSpace.sample(using: &rng) }

    /// One used decision re-drawn until the architecture differs.
    public func mutate(_ a: ArchitectureChoices, using rng: inout some RandomNumberGenerator) -> ArchitectureChoices {
        modelSpace.mutated(a, using: &rng)
    }

    /// Every architecture with one used layer or value choice changed.
    public func neighbors(of a: ArchitectureChoices) -> [ArchitectureChoices] { modelSpace.neighbors(of: a) }

    /// One indicator per (decision row, candidate), for either encoding.
    public func encode(_ a: ArchitectureChoices, as encoding: ArchitectureEncoding) -> [Float] { modelSpace.oneHot(a) }

    public func encodingLength(_ encoding: ArchitectureEncoding) -> Int { modelSpace.rows.count * modelSpace.width }
}

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
