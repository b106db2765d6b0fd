import ArgumentParser
import Foundation
import NASExperiment
import NASTensor

/// `swiftnas worker`: one worker of a search whose trials live in PostgreSQL. Start as many as
/// there are machines or slots (a Slurm job array, a Kubernetes Job's parallelism); each claims
/// trials until the study is finished.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Evaluate trials of a search stored in PostgreSQL, alongside other workers.",
        discussion: """
        The study must exist: `swiftnas search --store postgresql://…?study=NAME` creates it (and can run \
        workers itself with --workers). A worker claims a queued or new trial, evaluates it, records the \
        result, and repeats until the budget is spent and every trial is complete; then it exits with 0. \
        A trial whose worker stops sending heartbeats for --stale-after seconds is queued again and \
        evaluated by another worker; a completed trial is never evaluated again. On SIGTERM or Ctrl-C \
        the worker hands its trial back to the queue and exits with 128 + the signal (143 or 130): \
        start it again, or let the others finish. Give the password in the URL, in PGPASSWORD or in ~/.pgpass.
        """)

    @Option(help: "postgresql://user@host:port/database?study=NAME")
    var store: String

    @OptionGroup var options: WorkerOptions

    @Option(help: "Path of the NAS-Bench-201 table on this machine (default: the path the study was created with).")
    var benchmark: String?

    @Flag(help: "No line per trial.")
    var quiet = false

    func validate() throws {
        guard PostgresLocation.isPostgresURL(store) else {
            throw ValidationError("--store must be a postgresql:// URL; workers share a PostgreSQL database (an SQLite store has one search process)")
        }
        try options.validate(storeIsPostgres: true)
    }

    func run() throws {
        let trialStore = try PostgresTrialStore(url: store, study: options.study)
        guard let json = try trialStore.launch() else {
            throw ValidationError("the study \(trialStore.location) does not exist; create it with swiftnas search --store …")
        }
        let launch = try WorkerLaunch.decode(json, store: trialStore.location)
        let worker = try DistributedSearchCLI.makeWorker(store: trialStore, launch: launch, benchmark: benchmark, options: options)
        let summary: WorkerSummary
        do {
            summary = try worker.run { trial in
                guard !quiet else { return }
                print(String(format: "trial %d %@ objective %.4f", trial.number, trial.architecture, trial.objective ?? .nan))
            }
        } catch let stop as StopRequest.Interrupted {
            // The trial in hand is back in the queue; say so rather than the generic resume advice.
            FileHandle.standardError.write(Data("swiftnas worker: \(stop); the trial in hand was handed back to the study's queue\n".utf8))
            Foundation.exit(128 + stop.signal)
        }
        print("worker \(worker.id): \(summary.evaluated) trials evaluated (\(summary.claimedFromQueue) taken from the queue), "
            + "\(summary.dropped) results dropped (another worker finished first); the study is finished")
    }
}
