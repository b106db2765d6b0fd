import ArgumentParser
import Foundation
import NASExperiment
import Yams

/// A search described in YAML, e.g.
///
/// ```yaml
/// space: nb201
/// strategy: bananas
/// benchmark: nasbench201.csv   # optional: the table that ships with SwiftNAS otherwise
/// seed: 0
/// budget: {queries: 100}      # or just `budget: 100`; also seconds:, cost:
/// objective: nb201_c10valid_valid_12
/// report: nats_c10_test_200
/// store: run.sqlite
/// hyperparameters: {ensemble_size: 5, acquisition: its}
/// ```
/// Flags given on the command line override the file.
struct SearchConfigFile: Decodable, Equatable {
    var space: String?
    var strategy: String?
    var benchmark: String?
    var seed: UInt64?
    var budget: BudgetField?
    var objective: String?
    var report: String?
    var store: String?
    var hyperparameters: [String: ScalarOrList]?

    /// `budget: 300` or `budget: {queries: 300, seconds: 60, cost: 6000}`.
    struct BudgetField: Decodable, Equatable {
        var queries: Int?
        var seconds: Double?
        var cost: Double?

        enum CodingKeys: String, CodingKey { case queries, seconds, cost }

        init(from decoder: Decoder) throws {
            if let n = try? decoder.singleValueContainer().decode(Int.self) {
                queries = n
                return
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            queries = try c.decodeIfPresent(Int.self, forKey: .queries)
            seconds = try c.decodeIfPresent(Double.self, forKey: .seconds)
            cost = try c.decodeIfPresent(Double.self, forKey: .cost)
        }
    }

    /// A hyper-parameter value as the user wrote it; lists become `a,b,c`.
    struct ScalarOrList: Decodable, Equatable {
        var text: String
        init(from decoder: Decoder) throws {
            if let list = try? decoder.singleValueContainer().decode([String].self) {
                text = list.joined(separator: ",")
            } else {
                text = try decoder.singleValueContainer().decode(String.self)
            }
        }
    }

    static func load(_ path: String) throws -> SearchConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read config file \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let parsed: SearchConfigFile
        do { parsed = try YAMLDecoder().decode(SearchConfigFile.self, from: text) } catch {
            throw ValidationError("config file \(path): \(String("\(error)".prefix(300)))")
        }
        // A misspelt key would otherwise be ignored and its default used without a word. (The
        // node tree is read rather than Yams' `load`, which traps on keys that are not scalars.)
        func check(_ mapping: Node.Mapping?, known: [String], what: String) throws {
            for key in Array(mapping?.keys ?? Node.Mapping([]).keys) {
                guard let name = key.string, known.contains(name) else {
                    throw ValidationError("config file \(path): unknown \(what) '\((key.string ?? "a non-text key").prefix(40))'; "
                                          + "known: \(known.joined(separator: ", "))")
                }
            }
        }
        let root = (try? Yams.compose(yaml: text)) ?? nil
        try check(root?.mapping, known: knownKeys, what: "key")
        try check(root?.mapping?["budget"]?.mapping, known: ["queries", "seconds", "cost"], what: "budget key")
        return parsed
    }

    static let knownKeys = ["space", "strategy", "benchmark", "seed", "budget", "objective", "report", "store", "hyperparameters"]
}
