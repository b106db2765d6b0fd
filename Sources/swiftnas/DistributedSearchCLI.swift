import ArgumentParser
import Foundation
import NASBench
import NASEstimators
import NASExperiment
import NASSpaces
import NASStrategies
import NASTensor

/// What a worker needs beyond the experiment's configuration to evaluate trials as the study's
/// creator would; `swiftnas search` stores it with the study (JSON) and every worker reads it.
struct WorkerLaunch: Codable, Equatable {
    /// The NAS-Bench-201 table the creator named (nil: `$SWIFTNAS_NB201` or the compact copy).
    var benchmark: String?
    /// Seconds each evaluation waits per unit of simulated cost (nil: no wait).
    var simulateTime: Double?

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func decode(_ json: String, store: String) throws -> WorkerLaunch {
        do { return try JSONDecoder().decode(WorkerLaunch.self, from: Data(json.utf8)) } catch {
            throw TrialStoreError.corrupt(store: store, reason: "its launch settings are unreadable")
        }
    }
}

/// Worker settings shared by `swiftnas search --store postgresql://…` and `swiftnas worker`.
struct WorkerOptions: ParsableArguments {
    @Option(help: "PostgreSQL store: the study (experiment) inside the database, if the URL has no ?study=.")
    var study: String?

    @Option(name: .customLong("stale-after"), help: "PostgreSQL store: queue a trial again when its worker has not sent a heartbeat for this many seconds (default 60).")
    var staleAfter: Double?

    @Option(help: "PostgreSQL store: seconds between a worker's heartbeats (default: a fifth of --stale-after).")
    var heartbeat: Double?

    func validate(storeIsPostgres: Bool) throws {
        for (flag, value) in [("--stale-after", staleAfter), ("--heartbeat", heartbeat)] {
            guard let v = value else { continue }
            guard storeIsPostgres else { throw ValidationError("\(flag) applies to postgresql:// stores only") }
            guard v.isFinite, v > 0, v <= 86_400 else { throw ValidationError("\(flag) must be a number of seconds in (0, 86400] (got \(v))") }
        }
        if study != nil, !storeIsPostgres { throw ValidationError("--study applies to postgresql:// stores only") }
        if let s = staleAfter, let h = heartbeat, h >= s {
            throw ValidationError("--heartbeat (\(h) s) must be shorter than --stale-after (\(s) s), or live workers look dead")
        }
    }

    var staleSeconds: Double { staleAfter ?? 60 }
    var heartbeatSeconds: Double { heartbeat ?? staleSeconds / 5 }

    /// The flags to hand to a `swiftnas worker` process.
    var arguments: [String] {
        (staleAfter.map { ["--stale-after", "\($0)"] } ?? []) + (heartbeat.map { ["--heartbeat", "\($0)"] } ?? [])
    }
}

/// Searches whose trials live in PostgreSQL: the study is created (or checked against the
/// request, as an SQLite store is), then evaluated by one worker in this process or by worker
/// processes, and summarised from the store.
enum DistributedSearchCLI {
    static func run(_ request: SearchRequest, benchmark: String?, store url: String, options: WorkerOptions,
                    workers: Int, simulateTime: Double?, quiet: Bool) throws {
        let table = try NB201Table.load(explicit: benchmark)
        let tabular = NB201TabularEstimator(table: table)
        let (configuration, strategy) = try NB201Search.prepare(request, estimator: tabular)
        let store = try PostgresTrialStore(url: url, study: options.study)
        let launch = WorkerLaunch(benchmark: benchmark, simulateTime: simulateTime)
        let stored = try store.open(configuration, launch: launch.json, initialState: try strategy.state())
        let resumed = stored.trials.filter { $0.status == .complete }.count
        if workers == 0 {
            print("study \(store.location) is ready (\(resumed) trials complete); start workers with: swiftnas worker --store '\(store.location)'")
            return
        }
        var display = SearchProgressDisplay(reportMetric: request.report)
        if workers == 1 {
            let worker = try makeWorker(store: store, launch: launch, benchmark: benchmark, options: options)
            var tracker = IncumbentTracker(reportMetric: configuration.report)
            stored.trials.forEach { tracker.update($0) }
            var queries = resumed
            var cost = stored.trials.reduce(0) { $0 + ($1.cost ?? 0) }
            let start = Date()
            _ = try worker.run { trial in
                tracker.update(trial)
                queries += 1
                cost += trial.cost ?? 0
                if !quiet {
                    display.update(SearchProgress(trial: trial, queries: queries, cost: cost, seconds: -start.timeIntervalSinceNow,
                                                  budget: configuration.budget, incumbent: tracker.incumbent))
                }
            }
        } else {
            try runProcesses(workers, store: store, url: url, benchmark: benchmark, options: options) { trials in
                guard !quiet, let last = trials.last(where: { $0.status == .complete }) else { return }
                let s = ExperimentSummary(configuration: configuration, trials: trials, resumedTrials: resumed)
                display.update(SearchProgress(trial: last, queries: s.queries, cost: s.cost, seconds: s.seconds,
                                              budget: configuration.budget, incumbent: s.incumbent))
            }
        }
        if !quiet { display.finish() }
        let summary = ExperimentSummary(configuration: configuration, trials: try store.trials(), resumedTrials: resumed)
        print(SearchReport.text(summary, estimator: tabular))
        print("store: \(store.location), \(workers) worker\(workers == 1 ? "" : "s")")
    }

    /// A worker for the study in `store`, evaluating the way its creator asked.
    static func makeWorker(store: PostgresTrialStore, launch: WorkerLaunch, benchmark: String?,
                           options: WorkerOptions) throws -> TrialWorker<NB201SearchSpace> {
        guard let configuration = try store.configuration() else {
            throw ValidationError("the study \(store.location) does not exist; create it with swiftnas search --store …")
        }
        guard configuration.space == "nb201", configuration.estimator == "nb201-table" else {
            throw ValidationError("the study \(store.location) is a \(configuration.space) search with \(configuration.estimator); workers run NAS-Bench-201 table searches")
        }
        let table = try NB201Table.load(explicit: benchmark ?? launch.benchmark)
        let tabular = NB201TabularEstimator(table: table)
        let estimator: any Estimator<NB201SearchSpace> = launch.simulateTime.map { SimulatedTimeEstimator(tabular, secondsPerCost: $0) } ?? tabular
        let worker = TrialWorker(space: NB201SearchSpace(), estimator: estimator, store: store, configuration: configuration) { state in
            try StrategyCatalog.restore(configuration.strategy, space: NB201SearchSpace(), state: state)
        }
        worker.staleAfter = options.staleSeconds
        worker.heartbeatInterval = options.heartbeatSeconds
        return worker
    }

    /// Runs `count` `swiftnas worker` processes on the study and waits for them; a stop request
    /// (Ctrl-C, SIGTERM) is passed on to each, which hands its trial back before it exits.
    static func runProcesses(_ count: Int, store: PostgresTrialStore, url: String, benchmark: String?,
                             options: WorkerOptions, progress: ([TrialRecord]) -> Void) throws {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var arguments = ["worker", "--store", url, "--study", store.study, "--quiet"] + options.arguments
        if let benchmark { arguments += ["--benchmark", benchmark] }
        var children: [Process] = []
        for _ in 0..<count {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
            try p.run()
            children.append(p)
        }
        var forwarded = false
        var lastPoll = Date.distantPast
        while children.contains(where: \.isRunning) {
            if let signal = StopRequest.pending, !forwarded {
                children.filter(\.isRunning).forEach { kill($0.processIdentifier, signal) }
                forwarded = true
            }
            if -lastPoll.timeIntervalSinceNow >= 1, let trials = try? store.trials() {
                progress(trials)
                lastPoll = Date()
            }
            usleep(50_000)
        }
        try StopRequest.check()
        if let failed = children.first(where: { $0.terminationStatus != 0 }) {
            throw ValidationError("a worker process exited with status \(failed.terminationStatus); its message is above. "
                + "The study keeps every finished trial: run the same command again to continue")
        }
    }
}
