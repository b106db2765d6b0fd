import Foundation
import NASSpaces
import NASStrategies
import NASTensor

/// Where a running search stands, handed to a progress callback after every trial.
public struct SearchProgress: Sendable {
    public var trial: TrialRecord
    public var queries: Int
    public var cost: Double
    public var seconds: Double
    public var budget: Budget
    public var incumbent: Incumbent?

    public init(trial: TrialRecord, queries: Int, cost: Double, seconds: Double, budget: Budget, incumbent: Incumbent?) {
        self.trial = trial
        self.queries = queries
        self.cost = cost
        self.seconds = seconds
        self.budget = budget
        self.incumbent = incumbent
    }

    /// Fraction of the budget used, by its most-used limit (0 when unlimited).
    public var fraction: Double {
        var f = 0.0
        if let q = budget.queries, q > 0 { f = max(f, Double(queries) / Double(q)) }
        if let c = budget.cost, c > 0 { f = max(f, cost / c) }
        if let s = budget.seconds, s > 0 { f = max(f, seconds / s) }
        return min(f, 1)
    }
}

/// The outcome of a search.
public struct ExperimentSummary: Sendable {
    public var configuration: ExperimentConfiguration
    public var trials: [TrialRecord]
    public var incumbent: Incumbent?
    /// The last trial a strategy proposed as its final answer, if it did.
    public var finalTrial: TrialRecord?
    /// Trials that were already complete in the store when this run started.
    public var resumedTrials: Int

    /// The summary of trials in ask order: the incumbent and the final trial are derived from them.
    public init(configuration: ExperimentConfiguration, trials: [TrialRecord], resumedTrials: Int) {
        var tracker = IncumbentTracker(reportMetric: configuration.report)
        trials.forEach { tracker.update($0) }
        self.configuration = configuration
        self.trials = trials
        self.incumbent = tracker.incumbent
        self.finalTrial = trials.last { $0.role == .final && $0.status == .complete }
        self.resumedTrials = resumedTrials
    }

    public var queries: Int { trials.filter { $0.status == .complete }.count }
    public var cost: Double { trials.reduce(0) { $0 + ($1.cost ?? 0) } }
    public var seconds: Double { trials.reduce(0) { $0 + $1.seconds } }
    public var meanAskSeconds: Double { trials.isEmpty ? 0 : trials.reduce(0) { $0 + $1.askSeconds } / Double(trials.count) }
    public var meanTellSeconds: Double {
        let told = trials.compactMap(\.tellSeconds)
        return told.isEmpty ? 0 : told.reduce(0, +) / Double(told.count)
    }
}

/// Runs one experiment — space × strategy × estimator × budget — against a trial store.
///
/// Every step goes through the store before the next begins, so `run` can be called again on
/// the same store after the process died and continues where it stopped: the strategy is
/// restored from its last saved state (or, for stores that keep none, rebuilt by replaying
/// the stored trials into a fresh one), a trial that was asked but never told is evaluated
/// again, and the finished search is trial for trial the one an uninterrupted run gives.
public final class ExperimentRunner<Space: SearchSpace> {
    public let space: Space
    public let estimator: any Estimator<Space>
    public let configuration: ExperimentConfiguration
    public let store: any TrialStore
    private let objective: Objective
    private var strategy: any Strategy<Space>
    /// Stops the run after this many new trials (for tests that simulate a crash).
    public var stopAfterTrials: Int?
    /// Stops right after recording an ask, before evaluating it (a crash mid-trial).
    public var stopAfterAskOfTrial: Int?

    /// - Parameter strategy: a freshly seeded strategy; it is replaced by the stored state when
    ///   the store already holds trials.
    public init(space: Space, estimator: any Estimator<Space>, strategy: any Strategy<Space>,
                configuration: ExperimentConfiguration, store: any TrialStore) {
        self.space = space
        self.estimator = estimator
        self.strategy = strategy
        self.configuration = configuration
        self.store = store
        self.objective = Objective(metric: configuration.objective)
    }

    public func run(progress: ((SearchProgress) -> Void)? = nil) throws -> ExperimentSummary {
        // A NaN or non-positive limit would never (or always) stop the loop.
        if let problem = configuration.budget.problem { throw SearchRequestError.badBudget(problem) }
        let stored = try store.open(configuration)
        // Stored rows come from a file: an architecture that does not parse is a corrupt store.
        for t in stored.trials {
            do { _ = try space.parse(t.architecture) } catch {
                throw TrialStoreError.corrupt(store: store.location, reason: "trial \(t.number): \(error)")
            }
        }
        var trials = stored.trials
        let resumed = trials.filter { $0.status == .complete }.count
        var tracker = IncumbentTracker(reportMetric: configuration.report)
        for t in trials { tracker.update(t) }

        if !trials.isEmpty {
            if let state = stored.strategyState {
                strategy = try type(of: strategy).init(space: space, state: state)
            } else {
                try replay(trials)
            }
        }
        var queries = resumed
        var cost = trials.reduce(0) { $0 + ($1.cost ?? 0) }
        // The seconds budget is wall-clock time: earlier sessions count by their trials' recorded
        // seconds, this one by the clock (store writes included, which a table search is made of).
        let earlierSeconds = trials.reduce(0) { $0 + $1.seconds }
        let sessionStart = Stopwatch.now()
        func elapsed() -> Double { earlierSeconds + Stopwatch.seconds(since: sessionStart) }
        var newTrials = 0

        func finish(_ record: TrialRecord, proposal: Proposal<Space.Architecture>) throws {
            var record = record
            let start = Stopwatch.now()
            let fidelity = record.fidelity.map(Fidelity.init(epochs:))
            let evaluation = try estimator.evaluate(proposal.architecture, fidelity: fidelity)
            let evaluateSeconds = Stopwatch.seconds(since: start)
            let value = try objective.value(of: evaluation, at: fidelity, architecture: record.architecture)
            let tellStart = Stopwatch.now()
            try strategy.tell(Observation(architecture: proposal.architecture, fidelity: fidelity,
                                          objective: value, cost: evaluation.cost))
            record.complete(evaluation, objective: value, evaluateSeconds: evaluateSeconds,
                            tellSeconds: Stopwatch.seconds(since: tellStart))
            try store.recordTell(record, strategyState: store.keepsStrategyState ? try strategy.state() : nil)
            trials[record.number] = record
            tracker.update(record)
            queries += 1
            cost += evaluation.cost
            newTrials += 1
            progress?(SearchProgress(trial: record, queries: queries, cost: cost, seconds: elapsed(),
                                     budget: configuration.budget, incumbent: tracker.incumbent))
        }

        // A trial asked before the interruption but never told: evaluate it now.
        if let last = trials.last, last.status == .asked {
            let proposal = Proposal(try space.parse(last.architecture), fidelity: last.fidelity.map(Fidelity.init(epochs:)),
                                    role: last.role)
            try finish(last, proposal: proposal)
        }

        while !configuration.budget.isExhausted(queries: queries, seconds: elapsed(), cost: cost) {
            if let stop = stopAfterTrials, newTrials >= stop { break }
            // Ctrl-C / SIGTERM: every finished trial is committed, so stopping here loses nothing.
            try StopRequest.check()
            let start = Stopwatch.now()
            let proposal = try strategy.ask()
            let askSeconds = Stopwatch.seconds(since: start)
            let fidelity = proposal.fidelity ?? objective.fidelity
            let record = TrialRecord(number: trials.count, architecture: space.describe(proposal.architecture),
                                     fidelity: fidelity?.epochs, role: proposal.role, status: .asked,
                                     askedAt: Date(), askSeconds: askSeconds)
            try store.recordAsk(record, strategyState: store.keepsStrategyState ? try strategy.state() : nil)
            trials.append(record)
            if let stop = stopAfterAskOfTrial, record.number == stop { break }
            try finish(record, proposal: Proposal(proposal.architecture, fidelity: fidelity, role: proposal.role))
        }

        return ExperimentSummary(configuration: configuration, trials: trials, resumedTrials: resumed)
    }

    /// Rebuilds the strategy by replaying stored trials into the fresh one. Each replayed ask
    /// must give the stored architecture; if not, the store belongs to another run.
    private func replay(_ trials: [TrialRecord]) throws {
        for t in trials {
            let p = try strategy.ask()
            let described = space.describe(p.architecture)
            guard described == t.architecture else {
                throw TrialStoreError.corrupt(store: store.location,
                    reason: "replaying trial \(t.number) proposed \(described), but the store has \(t.architecture)")
            }
            guard t.status == .complete, let value = t.objective else { continue }
            try strategy.tell(Observation(architecture: p.architecture, fidelity: t.fidelity.map(Fidelity.init(epochs:)),
                                          objective: value, cost: t.cost ?? 0))
        }
    }
}

/// Monotonic time for the seconds a trial's steps take (runner and workers).
public enum Stopwatch {
    public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    public static func seconds(since t: UInt64) -> Double { Double(now() - t) / 1e9 }
}
