import ArgumentParser
import Foundation
import NASExperiment

/// `swiftnas trials`: exports a store's trials to standard output.
struct TrialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trials",
        abstract: "Export the trials of a search store as CSV or JSON lines.",
        discussion: """
        One row per trial in ask order: number, architecture, fidelity (epochs), role, status, objective, \
        cost, timestamps (ISO 8601), seconds spent in ask / evaluate / tell, then every metric the \
        estimator returned (CSV: one column per metric; JSON lines: a `metrics` object). Readable while \
        a search is still writing to the store.
        """)

    @Option(help: "Trial store written by `swiftnas search`: an SQLite file or a postgresql://…?study=NAME URL.")
    var store: String

    @Option(help: "Output format: csv or jsonl.")
    var format: String = "csv"

    func validate() throws {
        guard ["csv", "jsonl"].contains(format) else { throw ValidationError("--format must be csv or jsonl") }
        try checkStoreExists(store)
    }

    func run() throws {
        let s = try openStoreForReading(store)
        let trials = try s.trials()
        print(format == "csv" ? TrialExport.csv(trials) : TrialExport.jsonLines(trials), terminator: "")
    }
}
