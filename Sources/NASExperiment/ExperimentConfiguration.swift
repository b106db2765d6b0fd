import Foundation

/// Everything that determines a search's result. It is written into the trial store when the
/// store is created; reopening the store with anything different is refused, because resuming
/// would silently mix two experiments.
public struct ExperimentConfiguration: Codable, Equatable, Sendable {
    public var space: String
    public var strategy: String
    /// Resolved hyper-parameters (defaults filled in), values as compact JSON.
    public var hyperparameters: [String: String]
    public var seed: UInt64
    /// Metric the strategy maximises (e.g. `nb201_c10valid_valid_12`).
    public var objective: String
    /// Metric reported for the incumbent (e.g. `nats_c10_test_200`); never shown to the strategy.
    public var report: String
    /// Estimator identity (e.g. `nb201-table`).
    public var estimator: String
    public var budget: Budget
    /// What a person decided and what the search decides, kept with the trials. It describes the
    /// run rather than determining it, so two configurations that differ only here are equal (a
    /// rerun that spells a default out as a flag still resumes, and the store keeps the first).
    public var checklist: HumanInterventionChecklist?

    public static func == (a: ExperimentConfiguration, b: ExperimentConfiguration) -> Bool {
        a.differences(from: b).isEmpty
    }

    public init(space: String, strategy: String, hyperparameters: [String: String], seed: UInt64,
                objective: String, report: String, estimator: String, budget: Budget,
                checklist: HumanInterventionChecklist? = nil) {
        self.checklist = checklist
        self.space = space
        self.strategy = strategy
        self.hyperparameters = hyperparameters
        self.seed = seed
        self.objective = objective
        self.report = report
        self.estimator = estimator
        self.budget = budget
    }

    /// One line per field that differs, saying what the stored (`self`) and new values are.
    public func differences(from new: ExperimentConfiguration) -> [String] {
        var out: [String] = []
        func check<T: Equatable>(_ name: String, _ a: T, _ b: T, _ show: (T) -> String) {
            if a != b { out.append("\(name): stored \(show(a)), requested \(show(b))") }
        }
        check("space", space, new.space) { $0 }
        check("strategy", strategy, new.strategy) { $0 }
        for key in Set(hyperparameters.keys).union(new.hyperparameters.keys).sorted() {
            check("hyper-parameter \(key)", hyperparameters[key], new.hyperparameters[key]) { $0 ?? "(unset)" }
        }
        check("seed", seed, new.seed) { String($0) }
        check("objective", objective, new.objective) { $0 }
        check("report", report, new.report) { $0 }
        check("estimator", estimator, new.estimator) { $0 }
        check("budget.queries", budget.queries, new.budget.queries) { $0.map(String.init) ?? "(none)" }
        check("budget.seconds", budget.seconds, new.budget.seconds) { $0.map { "\($0)" } ?? "(none)" }
        check("budget.cost", budget.cost, new.budget.cost) { $0.map { "\($0)" } ?? "(none)" }
        return out
    }
}
