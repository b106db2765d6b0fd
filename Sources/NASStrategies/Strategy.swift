import Foundation
import NASSpaces

/// Why a trial exists. Black-box strategies only propose `search` trials; a method that does
/// its own internal work (a supernet, a learned controller) ends by proposing its `final`
/// architecture, which the runner evaluates and stores like any other trial.
public enum TrialRole: String, Codable, Sendable, CaseIterable {
    case search
    case final
}

/// What a strategy asks the runner to evaluate.
public struct Proposal<Architecture: Hashable & Codable & Sendable>: Hashable, Codable, Sendable {
    public var architecture: Architecture
    /// Fidelity to evaluate at; nil means the objective's own fidelity.
    public var fidelity: Fidelity?
    public var role: TrialRole

    public init(_ architecture: Architecture, fidelity: Fidelity? = nil, role: TrialRole = .search) {
        self.architecture = architecture
        self.fidelity = fidelity
        self.role = role
    }
}

/// What a strategy learns from one evaluation: the objective (higher is better) and its cost.
/// Strategies never see the other metrics, so a tabular benchmark's test accuracies cannot
/// leak into a search.
public struct Observation<Architecture: Hashable & Codable & Sendable>: Codable, Sendable, Equatable {
    public var architecture: Architecture
    /// The fidelity the evaluation was made at (resolved, never nil when the estimator has one).
    public var fidelity: Fidelity?
    public var objective: Double
    public var cost: Double

    public init(architecture: Architecture, fidelity: Fidelity?, objective: Double, cost: Double) {
        self.architecture = architecture
        self.fidelity = fidelity
        self.objective = objective
        self.cost = cost
    }
}

/// Errors a strategy raises instead of a proposal.
public enum StrategyError: Error, CustomStringConvertible, Equatable {
    case invalidHyperparameter(String)
    case badState(String)
    case exhausted(String)

    public var description: String {
        switch self {
        case let .invalidHyperparameter(m): return "invalid hyper-parameter: \(m)"
        case let .badState(m): return "cannot restore strategy state: \(m)"
        case let .exhausted(m): return "strategy has nothing left to propose: \(m)"
        }
    }
}

/// A black-box search strategy in the ask/tell shape: the runner asks for a proposal, has it
/// evaluated, and tells the strategy the outcome. The runner alternates one ask with one tell;
/// `state()` captures everything needed to continue exactly where the strategy was (random
/// generator included), which is how an interrupted search resumes.
public protocol Strategy<Space> {
    associatedtype Space: SearchSpace
    typealias Architecture = Space.Architecture

    /// Short identifier used in configs and stores (e.g. `rea`).
    static var name: String { get }

    mutating func ask() throws -> Proposal<Architecture>
    mutating func tell(_ observation: Observation<Architecture>) throws

    /// Serialised strategy state, restored by `init(space:state:)`.
    func state() throws -> Data
    init(space: Space, state: Data) throws
}

/// Strategies that are plain Codable values get `state()` / `init(space:state:)` for free:
/// the whole value, generator included, is the state.
public protocol CodableStrategy: Strategy, Codable {
    var space: Space { get set }
}

extension CodableStrategy {
    public func state() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Strategies legitimately hold ±infinity (e.g. "no value yet"); JSON has no such number.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    public init(space: Space, state: Data) throws {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { self = try decoder.decode(Self.self, from: state) } catch {
            throw StrategyError.badState("\(Self.name): \(error)")
        }
        self.space = space
    }
}
