/// The NAS-Bench-201 / NATS-Bench topology search space: 15,625 cells of six edges with five
/// operations each. The table in NASBench gives every cell's trained accuracy.
public struct NB201SearchSpace: CategoricalSearchSpace, EnumerableSearchSpace, Codable, Equatable {
    public typealias Architecture = NB201Cell

    public init() {}

    public var name: String { "nb201" }

    public func sample(using rng: inout some RandomNumberGenerator) -> NB201Cell {
        NB201Cell(code: rng.uniformIndex(below: NB201Cell.spaceSize))
    }

    /// Changes the op of one uniformly chosen edge to one of the four other ops, uniformly: the
    /// mutation used for NB201 in the regularized-evolution and BANANAS baselines.
    public func mutate(_ a: NB201Cell, using rng: inout some RandomNumberGenerator) -> NB201Cell {
        let edge = rng.uniformIndex(below: NB201Cell.edgeCount)
        let shift = 1 + rng.uniformIndex(below: NB201Operation.allCases.count - 1)
        let op = NB201Operation(rawValue: (a[edge].rawValue + shift) % NB201Operation.allCases.count)!
        return a.replacing(edge: edge, with: op)
    }

    /// The 24 cells that differ from `a` on exactly one edge, by edge then op.
    public func neighbors(of a: NB201Cell) -> [NB201Cell] {
        var result: [NB201Cell] = []
        result.reserveCapacity(NB201Cell.edgeCount * 4)
        for edge in 0..<NB201Cell.edgeCount {
            for op in NB201Operation.allCases where op != a[edge] {
                result.append(a.replacing(edge: edge, with: op))
            }
        }
        return result
    }

    public func encodingLength(_ encoding: ArchitectureEncoding) -> Int {
        switch encoding {
        case .oneHot: return NB201Cell.edgeCount * NB201Operation.allCases.count
        case .path: return NB201Cell.pathEncodingLength
        }
    }

    public func encode(_ a: NB201Cell, as encoding: ArchitectureEncoding) -> [Float] {
        var v = [Float](repeating: 0, count: encodingLength(encoding))
        switch encoding {
        case .oneHot:
            for edge in 0..<NB201Cell.edgeCount { v[edge * 5 + a[edge].rawValue] = 1 }
        case .path:
            for i in a.activePaths { v[i] = 1 }
        }
        return v
    }

    public func describe(_ a: NB201Cell) -> String { a.description }

    public func parse(_ s: String) throws -> NB201Cell { try NB201Cell(parsing: s) }

    public func isomorphismKey(_ a: NB201Cell) -> String { a.isomorphismKey }

    public var choiceCounts: [Int] { Array(repeating: NB201Operation.allCases.count, count: NB201Cell.edgeCount) }

    public func choices(of a: NB201Cell) -> [Int] { a.ops.map(\.rawValue) }

    public func architecture(choices: [Int]) -> NB201Cell {
        NB201Cell(ops: choices.map { NB201Operation(rawValue: $0)! })
    }

    /// All 15,625 cells in `op_codes` order (code 0 = all `none`).
    public func allArchitectures() -> [NB201Cell] { (0..<NB201Cell.spaceSize).map(NB201Cell.init(code:)) }
}
