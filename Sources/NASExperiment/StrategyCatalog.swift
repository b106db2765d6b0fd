import Foundation
import NASSpaces
import NASStrategies

/// Builds strategies by name from user-given hyper-parameter overrides, the way configs and the
/// CLI name them (`rea`, `sample_size: 5`). Overrides are checked against each strategy's typed
/// hyper-parameters: an unknown key or a value of the wrong type is an error naming it.
public enum StrategyCatalog {
    /// Every strategy name, in the order the benchmark reports them.
    public static let names = ["random", "rea", "reinforce", "reinforce-lstm", "ls", "bananas", "hyperband", "bohb", "nao", "ctnas"]

    /// One-line descriptions for `--help`.
    public static let summaries: [String: String] = [
        "random": "uniform random search (no repeats)",
        "rea": "regularized evolution, Real et al. 2019",
        "reinforce": "REINFORCE with a per-edge categorical policy and EMA baseline",
        "reinforce-lstm": "REINFORCE with an LSTM controller (decisions conditioned on earlier ones) and a moving-average baseline",
        "ls": "local search (best-improvement hill climbing with restarts)",
        "bananas": "BANANAS: ensemble of neural predictors on the path encoding, Thompson sampling",
        "hyperband": "Hyperband over the estimator's fidelities",
        "bohb": "BOHB: Hyperband with a TPE-style KDE sampler",
        "nao": "NAO: LSTM encoder–predictor–decoder, gradient ascent in embedding space",
        "ctnas": "CTNAS: GCN architecture comparator, policy-gradient controller, baseline curriculum",
    ]

    /// Whether the strategy chooses fidelities itself (its budget is best given as cost).
    public static func isMultiFidelity(_ name: String) -> Bool { name == "hyperband" || name == "bohb" }

    /// A strategy ready to run, and its hyper-parameters with defaults filled in (as stored).
    public static func make<Space: CategoricalSearchSpace & Codable>(
        _ name: String, overrides: [String: String] = [:], space: Space, seed: UInt64, fidelities: [Fidelity] = []
    ) throws -> (strategy: any Strategy<Space>, hyperparameters: [String: String]) {
        switch name {
        case "random":
            let (h, r) = try resolve(RandomSearch<Space>.Hyperparameters(), overrides, name)
            return (try RandomSearch(space: space, hyperparameters: h, seed: seed), r)
        case "rea":
            let (h, r) = try resolve(RegularizedEvolution<Space>.Hyperparameters(), overrides, name)
            return (try RegularizedEvolution(space: space, hyperparameters: h, seed: seed), r)
        case "reinforce":
            let (h, r) = try resolve(Reinforce<Space>.Hyperparameters(), overrides, name)
            return (try Reinforce(space: space, hyperparameters: h, seed: seed), r)
        case "reinforce-lstm":
            let (h, r) = try resolve(ControllerReinforce<Space>.Hyperparameters(), overrides, name)
            return (try ControllerReinforce(space: space, hyperparameters: h, seed: seed), r)
        case "ls":
            let (h, r) = try resolve(LocalSearch<Space>.Hyperparameters(), overrides, name)
            return (try LocalSearch(space: space, hyperparameters: h, seed: seed), r)
        case "bananas":
            let (h, r) = try resolve(Bananas<Space>.Hyperparameters(), overrides, name)
            return (try Bananas(space: space, hyperparameters: h, seed: seed), r)
        case "hyperband", "bohb":
            var defaults = Hyperband<Space>.Hyperparameters()
            defaults.sampler = name == "bohb" ? .kde : .random
            if !fidelities.isEmpty { defaults.rungs = fidelities.sorted().map(\.epochs) }
            let (h, r) = try resolve(defaults, overrides, name)
            return (try Hyperband(space: space, hyperparameters: h, seed: seed), r)
        case "nao":
            let (h, r) = try resolve(NAO<Space>.Hyperparameters(), overrides, name)
            return (try NAO(space: space, hyperparameters: h, seed: seed), r)
        case "ctnas":
            // The comparator reads cell DAGs, which only graph-encodable spaces provide.
            guard let graphSpace = space as? any CellGraphSpace & Codable else {
                throw StrategyError.invalidHyperparameter("ctnas needs a space whose architectures are cell graphs (nb201)")
            }
            let (h, r) = try resolve(CTNASHyperparameters(), overrides, name)
            return (try makeCTNAS(graphSpace, space: space, h, seed: seed), r)
        default:
            throw StrategyError.invalidHyperparameter(
                "unknown strategy '\(name)'; available: \(names.joined(separator: ", "))")
        }
    }

    /// A strategy of kind `name` restored from its saved state (as a resumed search does).
    public static func restore<Space: CategoricalSearchSpace & Codable>(_ name: String, space: Space, state: Data) throws
        -> any Strategy<Space> {
        let (fresh, _) = try make(name, space: space, seed: 0)
        return try type(of: fresh).init(space: space, state: state)
    }

    /// Default hyper-parameters of a strategy, as `key: value` strings.
    public static func defaults(_ name: String) throws -> [String: String] {
        try make(name, space: NB201SearchSpace(), seed: 0, fidelities: []).hyperparameters
    }

    /// Applies string overrides to typed defaults through their snake_case JSON form.
    static func resolve<H: Codable>(_ defaults: H, _ overrides: [String: String], _ strategy: String) throws
        -> (H, [String: String]) {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        guard var object = try JSONSerialization.jsonObject(with: encoder.encode(defaults)) as? [String: Any] else {
            throw StrategyError.invalidHyperparameter("hyper-parameters of \(strategy) are not a key/value map")
        }
        for (key, text) in overrides.sorted(by: { $0.key < $1.key }) {
            guard object[key] != nil else {
                throw StrategyError.invalidHyperparameter("'\(key)' is not a hyper-parameter of \(strategy); it has "
                    + object.keys.sorted().joined(separator: ", "))
            }
            object[key] = jsonValue(text)
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let h: H
        do { h = try decoder.decode(H.self, from: JSONSerialization.data(withJSONObject: object)) } catch {
            let keys = overrides.keys.sorted().map { "\($0)=\(overrides[$0]!)" }.joined(separator: ", ")
            throw StrategyError.invalidHyperparameter("\(strategy): a value has the wrong type or is not allowed (\(keys))")
        }
        guard let resolved = try JSONSerialization.jsonObject(with: encoder.encode(h)) as? [String: Any] else {
            throw StrategyError.invalidHyperparameter("hyper-parameters of \(strategy) are not a key/value map")
        }
        var strings: [String: String] = [:]
        for (k, v) in resolved {
            let data = try JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys])
            strings[k] = String(decoding: data, as: UTF8.self)
        }
        return (h, strings)
    }

    /// Reads a CLI/YAML value: booleans, numbers and lists of numbers as JSON, anything else as a
    /// string (enum values such as `ucb` or `path`).
    static func jsonValue(_ text: String) -> Any {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "true" { return true }
        if t == "false" { return false }
        if let i = Int(t) { return i }
        if let d = Double(t) { return d }
        let list = t.hasPrefix("[") && t.hasSuffix("]") ? String(t.dropFirst().dropLast()) : t
        if list.contains(",") {
            let parts = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.allSatisfy({ Double($0) != nil }) { return parts.map { Int($0).map { $0 as Any } ?? Double($0)! as Any } }
        }
        return t
    }
}
