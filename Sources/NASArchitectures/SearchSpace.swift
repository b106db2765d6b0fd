import Foundation

/// How an architecture is turned into a feature vector for a predictor or a surrogate model.
public enum ArchitectureEncoding: String, Codable, Sendable, CaseIterable {
    /// One indicator per (decision, choice): the adjacency/op one-hot used by most predictors.
    case oneHot = "onehot"
    /// One indicator per input→output path labelled by its operations (White et al., BANANAS).
    case path
}

/// A set of architectures together with the moves a search strategy may make in it.
///
/// A space owns every operation that needs to know what an architecture *means*: drawing one,
/// perturbing it, listing its neighbours, turning it into numbers for a model, and reading and
/// writing the string form users exchange. Strategies only ever go through this protocol, which
/// is what lets the same strategy run on NAS-Bench-201 cells, DARTS genotypes or anything else.
public protocol SearchSpace: Sendable {
    associatedtype Architecture: Hashable & Codable & Sendable

    /// Short identifier used in configs and stores (e.g. `nb201`).
    var name: String { get }

    /// A uniformly random architecture.
    func sample(using rng: inout some RandomNumberGenerator) -> Architecture

    /// A random architecture one elementary move away from `a` (never `a` itself).
    func mutate(_ a: Architecture, using rng: inout some RandomNumberGenerator) -> Architecture

    /// Every architecture one elementary move away from `a`, in a fixed order.
    func neighbors(of a: Architecture) -> [Architecture]

    /// A fixed-length feature vector for `a`.
    func encode(_ a: Architecture, as encoding: ArchitectureEncoding) -> [Float]

    /// Length of the vectors `encode(_:as:)` returns.
    func encodingLength(_ encoding: ArchitectureEncoding) -> Int

    /// The string users exchange for `a` (round-trips through `parse`).
    func describe(_ a: Architecture) -> String

    /// Reads the string form; throws an error that says what is wrong and where.
    func parse(_ s: String) throws -> Architecture

    /// A key shared by exactly the architectures that compute the same function.
    func isomorphismKey(_ a: Architecture) -> String
}

extension SearchSpace {
    public func encode(_ a: Architecture) -> [Float] { encode(a, as: .oneHot) }
    public func isomorphismKey(_ a: Architecture) -> String { describe(a) }
}

/// A space whose architectures are a fixed list of independent categorical decisions, e.g. one
/// operation per edge of a cell. Policy-gradient controllers and density-based models (REINFORCE,
/// BOHB's KDE) need this view; mutation-based strategies don't.
public protocol CategoricalSearchSpace: SearchSpace {
    /// Number of options of each decision, in decision order.
    var choiceCounts: [Int] { get }
    /// The option chosen at each decision.
    func choices(of a: Architecture) -> [Int]
    /// The architecture with these options (one per decision, each in range).
    func architecture(choices: [Int]) -> Architecture
}

/// A categorical space whose moves are all on the choice vector: sampling draws every decision
/// uniformly, a mutation changes one decision to another of its options, the neighbours are all
/// single-decision changes, and the encoding is one indicator per (decision, option). Spaces of
/// networks with independent per-layer settings (dense-seg, the multimodal space) conform by
/// declaring it; they write only `choiceCounts`, `choices(of:)` and `architecture(choices:)`.
public protocol ChoiceVectorSpace: CategoricalSearchSpace {}

extension ChoiceVectorSpace {
    public func sample(using rng: inout some RandomNumberGenerator) -> Architecture {
        architecture(choices: choiceCounts.map { Int.random(in: 0..<$0, using: &rng) })
    }

    public func mutate(_ a: Architecture, using rng: inout some RandomNumberGenerator) -> Architecture {
        let counts = choiceCounts
        let movable = counts.indices.filter { counts[$0] > 1 }
        guard let d = movable.randomElement(using: &rng) else { return a }
        var c = choices(of: a)
        c[d] = (c[d] + Int.random(in: 1..<counts[d], using: &rng)) % counts[d]
        return architecture(choices: c)
    }

    public func neighbors(of a: Architecture) -> [Architecture] {
        let c = choices(of: a)
        return choiceCounts.enumerated().flatMap { d, n in
            (0..<n).filter { $0 != c[d] }.map { o -> Architecture in
                var b = c
                b[d] = o
                return architecture(choices: b)
            }
        }
    }

    public func encodingLength(_ encoding: ArchitectureEncoding) -> Int { choiceCounts.reduce(0, +) }

    /// One indicator per (decision, option) for either encoding (such spaces have no paths).
    public func encode(_ a: Architecture, as encoding: ArchitectureEncoding) -> [Float] {
        zip(choices(of: a), choiceCounts).flatMap { choice, n in (0..<n).map { $0 == choice ? Float(1) : 0 } }
    }
}

/// A space small enough to list: exhaustive baselines and tests use it.
public protocol EnumerableSearchSpace: SearchSpace {
    /// Every architecture, in a fixed order.
    func allArchitectures() -> [Architecture]
}
