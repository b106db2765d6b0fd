import ArgumentParser
import Foundation
import NASExperiment
import NASTensor

/// `swiftnas report`: a search's store as a static web page.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a search's trials as a static HTML page with SVG plots.",
        discussion: """
        Writes DIR/index.html: the best objective so far against queries, cost and time, the objective of \
        every trial, the share of each operation on each edge in the best decile (NAS-Bench-201 cells), \
        the Pareto front of objective and size when the trials carry a size, the final architecture drawn \
        as a cell graph, the run's settings and its human-intervention checklist. One file, no scripts, \
        nothing fetched from the network. Works while a search is still writing to the store.
        """)

    @Option(help: "Trial store: an SQLite file or a postgresql://…?study=NAME URL.")
    var store: String

    @Option(help: "Folder to write index.html into; refused if it exists and is not empty, unless --force.")
    var out: String

    @Flag(help: "Write into an existing, non-empty folder (replacing its index.html).")
    var force = false

    func validate() throws {
        try checkStoreExists(store)
        try checkFreshOutputFolder(out, flag: "--out", force: force)
    }

    func run() throws {
        let start = Date()
        let search = try StoredSearch(reading: store)
        let html = try ReportPage.html(configuration: search.configuration, trials: search.trials, store: search.location)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let path = (out as NSString).appendingPathComponent("index.html")
        try AtomicFile.write(html, to: URL(fileURLWithPath: path))
        print(String(format: "report: %@ (%d KB, %.2f s)", path, html.utf8.count / 1024, -start.timeIntervalSinceNow))
    }
}
