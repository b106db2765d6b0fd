import ArgumentParser
import Foundation
import Hummingbird
import NASExperiment
import NASTensor

/// `swiftnas dashboard`: the report page served live while a search runs.
struct DashboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve a search's report page live, refreshed as trials arrive (read-only).",
        discussion: """
        Serves the page of `swiftnas report` at http://HOST:PORT/, built from the store at every request; \
        the page reloads itself every --refresh seconds. Read-only: the store is opened read-only and only GET \
        is answered. Bound to 127.0.0.1 unless --host says otherwise (the page shows the run's settings). \
        Ctrl-C or SIGTERM stops it.
        """)

    @Option(help: "Trial store: an SQLite file or a postgresql://…?study=NAME URL.")
    var store: String

    @Option(help: "Port to listen on.")
    var port: Int = 8080

    @Option(help: "Address to bind (default 127.0.0.1: this machine only; 0.0.0.0 for every interface).")
    var host: String = "127.0.0.1"

    @Option(help: "Seconds between the page's reloads.")
    var refresh: Int = 5

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be in 1…65535 (got \(port))") }
        guard (1...3600).contains(refresh) else { throw ValidationError("--refresh must be in 1…3600 seconds (got \(refresh))") }
        try checkStoreExists(store)
        // Opening it once here turns a bad store into a one-line error before the server starts.
        _ = try Self.page(store: store, refresh: refresh)
    }

    /// The page for the store as it is now; a store without finished trials gets a waiting page.
    static func page(store: String, refresh: Int) throws -> String {
        do {
            let search = try StoredSearch(reading: store)
            return try ReportPage.html(configuration: search.configuration, trials: search.trials, store: search.location,
                                       refreshSeconds: refresh)
        } catch let empty as ReportPage.NoFinishedTrial {
            return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"\(refresh)\">"
                + "<title>SwiftNAS search</title></head><body><h1>SwiftNAS search</h1><p>\(ReportPage.e(empty.description)); "
                + "this page reloads every \(refresh) s.</p></body></html>\n"
        }
    }

    func run() throws {
        let store = self.store, refresh = self.refresh
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { _, _ in
            let html = (try? Self.page(store: store, refresh: refresh))
                ?? "<!DOCTYPE html><html><body><p>the store \(ReportPage.e(store)) cannot be read right now</p></body></html>"
            let body = ByteBuffer(string: html)
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: body))
        }
        router.get("/", use: handler)
        router.get("/index.html", use: handler)
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)))
        let outcome = ServerOutcome()
        let server = Task {
            do { try await app.run() } catch { outcome.finish(error) }
            outcome.finish(nil)
        }
        print("dashboard: http://\(host):\(port)/ (store \(store); Ctrl-C stops it)")
        // The CLI's own handlers catch SIGINT/SIGTERM; poll them and cancel the server when asked.
        while StopRequest.pending == nil, !outcome.finished { usleep(100_000) }
        if let error = outcome.error {
            throw ValidationError("cannot serve on \(host):\(port): \(String("\(error)".prefix(200)))")
        }
        server.cancel()
        let deadline = Date().addingTimeInterval(5)
        while !outcome.finished, Date() < deadline { usleep(20_000) }
        // Nothing to save or resume: stopping is how a dashboard ends.
        print("dashboard stopped")
    }
}

/// How the server task ended, read by the waiting command thread.
final class ServerOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var ended = false
    private var failure: (any Error)?

    func finish(_ error: (any Error)?) {
        lock.lock()
        defer { lock.unlock() }
        if !ended { (ended, failure) = (true, error) }
    }

    var finished: Bool { lock.lock(); defer { lock.unlock() }; return ended }
    var error: (any Error)? { lock.lock(); defer { lock.unlock() }; return failure }
}
