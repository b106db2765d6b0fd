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
/// evaluated, and tells the strategy the outcome. `state()` captures everything needed to
/// continue exactly where the strategy was (random generator included), which is how an
/// interrupted search resumes.
///
/// A single runner alternates one ask with one tell. Parallel workers sharing one strategy may
/// ask several times before the first tell and tell in any order: every built-in strategy
/// accepts that, matching a tell to its pending ask by architecture (and fidelity), and treats
/// a tell nobody asked for (a trial re-queued after its worker died, told late) as a plain
/// observation. With strictly alternating asks and tells the proposals are the same as when
/// strategies assumed alternation.
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
    /// Checks a state read back from a store before the strategy runs on it: a tampered or
    /// corrupt state must be refused here, not trap later in `ask` or `tell`.
    func checkRestoredState() throws
}

/// A codable strategy configured by hyper-parameters, which its initialiser validates.
public protocol HyperparameterizedStrategy: CodableStrategy {
    associatedtype Hyperparameters
    var hyperparameters: Hyperparameters { get }
    init(space: Space, hyperparameters: Hyperparameters, seed: UInt64) throws
    /// Checks the parts of a restored state beyond the hyper-parameters (default: none).
    func checkRestoredFields() throws
}

extension CodableStrategy {
    public func checkRestoredState() throws {}
}

extension HyperparameterizedStrategy {
    public func checkRestoredFields() throws {}

    /// Restored hyper-parameters pass the same checks as new ones, then the strategy's own.
    public func checkRestoredState() throws {
        _ = try Self(space: space, hyperparameters: hyperparameters, seed: 0)
        try checkRestoredFields()
    }
}

/// Checks for `checkRestoredFields`: a counter in a plausible range, numbers finite, and
/// per-decision arrays shaped like the space's choices.
public enum RestoredState {
    public static func counter(_ value: Int, _ name: String) throws {
        guard (0..<(1 << 40)).contains(value) else { throw StrategyError.badState("\(name) is \(value)") }
    }

    public static func finite(_ values: [Double], _ name: String) throws {
        guard values.allSatisfy(\.isFinite) else { throw StrategyError.badState("\(name) holds a non-finite number") }
    }

    public static func shaped(_ rows: [[Double]], like counts: [Int], _ name: String) throws {
        guard rows.map(\.count) == counts else {
            throw StrategyError.badState("\(name) has shape \(rows.map(\.count)), the space has \(counts) choices")
        }
        try finite(rows.flatMap { $0 }, name)
    }
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
            throw StrategyError.badState("\(Self.name): \(String("\(error)".prefix(300)))")
        }
        self.space = space
        try checkRestoredState()
    }
}
