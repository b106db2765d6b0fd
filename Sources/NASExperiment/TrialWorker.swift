import Foundation
import NASSpaces
import NASStrategies
import NASTensor

/// What one worker did before it stopped.
public struct WorkerSummary: Equatable, Sendable {
    /// Results this worker recorded.
    public var evaluated = 0
    /// Results dropped because another worker had completed the trial first.
    public var dropped = 0
    /// Trials taken from the queue (handed back or left by a silent worker) rather than newly asked.
    public var claimedFromQueue = 0
}

/// One worker of a search shared through a PostgreSQL store: it claims a trial (a queued one,
/// else a new one from the strategy), evaluates it while its heartbeat thread shows it is alive,
/// records the result, and repeats until the study's budget is spent and every trial is complete.
///
/// The strategy lives in the store: each ask and each tell restores it from the state saved
/// there, applies one step and saves it, under the study's row lock. Several workers therefore
/// leave several asks outstanding, which every built-in strategy accepts (see each strategy's
/// notes on workers); with one worker the steps alternate exactly as in `ExperimentRunner`, and
/// the trials are the ones an SQLite search with the same seed gives.
///
/// On Ctrl-C or SIGTERM during an evaluation the worker hands its trial back to the queue,
/// commits, and rethrows `StopRequest.Interrupted`; between trials it simply stops.
public final class TrialWorker<Space: SearchSpace> {
    public let space: Space
    public let estimator: any Estimator<Space>
    public let store: PostgresTrialStore
    public let configuration: ExperimentConfiguration
    /// The name trials are claimed under (`pid@host` by default).
    public let id: String
    /// A trial whose heartbeat is older than this is queued again.
    public var staleAfter: Double = 60
    /// How often the heartbeat thread refreshes this worker's trials.
    public var heartbeatInterval: Double = 5
    /// How long an idle worker waits before looking again for a trial to take over.
    public var idleWait: Double = 0.5
    /// For tests: after this many claims, stop without evaluating or handing back (a crash).
    public var crashAfterClaims: Int?
    private let restore: (Data) throws -> any Strategy<Space>
    private let objective: Objective

    /// - Parameter restore: rebuilds the study's strategy from a saved state.
    public init(space: Space, estimator: any Estimator<Space>, store: PostgresTrialStore,
                configuration: ExperimentConfiguration, id: String = WorkerIdentity.current,
                restore: @escaping (Data) throws -> any Strategy<Space>) {
        self.space = space
        self.estimator = estimator
        self.store = store
        self.configuration = configuration
        self.id = id
        self.restore = restore
        self.objective = Objective(metric: configuration.objective)
    }

    private func strategy(from state: Data?) throws -> any Strategy<Space> {
        guard let state else {
            throw TrialStoreError.corrupt(store: store.location, reason: "the study has no strategy state")
        }
        return try restore(state)
    }

    /// Runs until the study is finished; `progress` gets every trial this worker completes.
    public func run(progress: ((TrialRecord) -> Void)? = nil) throws -> WorkerSummary {
        if let problem = configuration.budget.problem { throw SearchRequestError.badBudget(problem) }
        let heartbeat = try HeartbeatThread(store: store.reconnected(), worker: id, interval: heartbeatInterval)
        defer { heartbeat.stop() }
        var summary = WorkerSummary()
        var claims = 0
        while true {
            try StopRequest.check()
            let trial: TrialRecord
            if let queued = try store.claimQueued(worker: id) {
                trial = queued
                summary.claimedFromQueue += 1
            } else {
                switch try store.ask(worker: id, staleAfter: staleAfter, propose: propose) {
                case let .trial(t): trial = t
                case .requeued: continue
                case let .none(finished):
                    if finished { return summary }
                    usleep(useconds_t(idleWait * 1e6))
                    continue
                }
            }
            claims += 1
            if let crash = crashAfterClaims, claims >= crash { return summary }
            if let done = try evaluate(trial) {
                summary.evaluated += 1
                progress?(done)
            } else {
                summary.dropped += 1
            }
        }
    }

    /// The next trial from the strategy, or nil when the budget allows no more. A query budget
    /// counts trials asked, so workers never ask beyond it; cost and time count finished trials,
    /// so they may be exceeded by the trials in flight.
    private func propose(_ tally: StudyTally, _ state: Data?) throws -> (TrialRecord, Data)? {
        let budget = configuration.budget
        if let queries = budget.queries, tally.asked >= queries { return nil }
        if budget.isExhausted(queries: tally.complete, seconds: tally.seconds, cost: tally.cost) { return nil }
        var strategy = try strategy(from: state)
        let start = Stopwatch.now()
        let proposal = try strategy.ask()
        let askSeconds = Stopwatch.seconds(since: start)
        let fidelity = proposal.fidelity ?? objective.fidelity
        let record = TrialRecord(number: tally.asked, architecture: space.describe(proposal.architecture),
                                 fidelity: fidelity?.epochs, role: proposal.role, status: .asked,
                                 askedAt: Date(), askSeconds: askSeconds)
        return (record, try strategy.state())
    }

    /// Evaluates a claimed trial and records it; nil when another worker had completed it first.
    private func evaluate(_ claimed: TrialRecord) throws -> TrialRecord? {
        let architecture: Space.Architecture
        do { architecture = try space.parse(claimed.architecture) } catch {
            throw TrialStoreError.corrupt(store: store.location, reason: "trial \(claimed.number): \(error)")
        }
        let fidelity = claimed.fidelity.map(Fidelity.init(epochs:))
        let start = Stopwatch.now()
        let evaluation: Evaluation
        do { evaluation = try estimator.evaluate(architecture, fidelity: fidelity) } catch let stop as StopRequest.Interrupted {
            // Pre-empted: the trial goes back to the queue, for this worker's successor or another.
            try store.handBack(claimed.number, worker: id)
            throw stop
        }
        let evaluateSeconds = Stopwatch.seconds(since: start)
        let value: Double
        do { value = try objective.value(of: evaluation, at: fidelity, architecture: claimed.architecture) } catch {
            try store.handBack(claimed.number, worker: id)
            throw error
        }
        var record = claimed
        let accepted = try store.tell(claimed.number) { state in
            var strategy = try strategy(from: state)
            let tellStart = Stopwatch.now()
            try strategy.tell(Observation(architecture: architecture, fidelity: fidelity, objective: value, cost: evaluation.cost))
            record.complete(evaluation, objective: value, evaluateSeconds: evaluateSeconds,
                            tellSeconds: Stopwatch.seconds(since: tellStart))
            return (record, try strategy.state())
        }
        return accepted ? record : nil
    }
}

/// Refreshes the heartbeat of a worker's trials every `interval` seconds on its own connection,
/// so that a long evaluation does not look like a dead worker. A failed refresh is retried at the
/// next beat; if the server stays away, the trial is eventually queued again, which is safe.
final class HeartbeatThread: @unchecked Sendable {
    private let store: PostgresTrialStore
    private let worker: String
    private let interval: Double
    private let condition = NSCondition()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(store: PostgresTrialStore, worker: String, interval: Double) {
        self.store = store
        self.worker = worker
        self.interval = interval
        let thread = Thread { [self] in self.loop() }
        thread.name = "swiftnas-heartbeat"
        thread.start()
    }

    private func loop() {
        defer { finished.signal() }
        while true {
            condition.lock()
            if !stopping { _ = condition.wait(until: Date().addingTimeInterval(interval)) }
            let stop = stopping
            condition.unlock()
            if stop { return }
            _ = try? store.heartbeat(worker: worker)
        }
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        finished.wait()
    }
}
