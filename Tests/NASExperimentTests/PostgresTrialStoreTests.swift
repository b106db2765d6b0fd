import Foundation
import NASBench
@testable import NASExperiment
import NASSpaces
import NASStrategies
import PostgresTestSupport
import XCTest

/// The PostgreSQL store against a real server (see `TestPostgres`): schema, claims under
/// concurrency, heartbeats, the configuration check, bad connections, and the promise that one
/// worker on PostgreSQL gives the trials of an SQLite search.
final class PostgresTrialStoreTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftnas-pg-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func request(_ strategy: String, budget: Budget, seed: UInt64) -> SearchRequest {
        var r = SearchRequest()
        r.strategy = strategy
        r.seed = seed
        r.budget = budget
        return r
    }

    /// A study created as `swiftnas search` creates it, and a worker on it.
    func worker(_ request: SearchRequest, url: String, id: String = WorkerIdentity.current,
                estimator: NB201TabularEstimator) throws -> TrialWorker<NB201SearchSpace> {
        let (configuration, strategy) = try NB201Search.prepare(request, estimator: estimator)
        let store = try PostgresTrialStore(url: url)
        _ = try store.open(configuration, launch: nil, initialState: try strategy.state())
        return TrialWorker(space: NB201SearchSpace(), estimator: estimator, store: store, configuration: configuration, id: id) {
            try StrategyCatalog.restore(configuration.strategy, space: NB201SearchSpace(), state: $0)
        }
    }

    func signature(_ trials: [TrialRecord]) -> [String] {
        trials.map { "\($0.number) \($0.architecture) \($0.fidelity ?? 0) \($0.status) \($0.objective ?? .nan) \($0.cost ?? .nan)" }
    }

    func testOneWorkerGivesTheTrialsOfAnSQLiteSearch() throws {
        let estimator = NB201TabularEstimator(table: try SharedTable.require())
        for (strategy, budget) in [("rea", Budget(queries: 120)), ("hyperband", Budget(cost: 1500)), ("reinforce", Budget(queries: 60))] {
            let r = request(strategy, budget: budget, seed: 7)
            let sqlite = try SQLiteTrialStore(path: directory.appendingPathComponent("\(strategy).sqlite").path)
            let expected = try NB201Search.runner(r, estimator: estimator, store: sqlite).run().trials
            let w = try worker(r, url: try TestPostgres.study("same-\(strategy)"), estimator: estimator)
            let summary = try w.run()
            let got = try w.store.trials()
            XCTAssertEqual(signature(got), signature(expected), strategy)
            XCTAssertEqual(summary.evaluated, expected.count, strategy)
            XCTAssertGreaterThan(expected.count, 10, strategy)
        }
    }

    func testSchemaIsCreatedInAnEmptyDatabaseAndANewerVersionIsRefused() throws {
        let server = try TestPostgres.url()
        let database = "swiftnas_schema_\(UUID().uuidString.prefix(8).lowercased())"
        let admin = try PostgresConnection(try PostgresLocation(url: server))
        try admin.execute("CREATE DATABASE \(database)")
        defer { _ = try? admin.execute("DROP DATABASE \(database) WITH (FORCE)") }
        let url = server.replacingOccurrences(of: "/postgres", with: "/\(database)") + "?study=s"
        let store = try PostgresTrialStore(url: url)
        XCTAssertNil(try store.configuration())
        XCTAssertEqual(try store.trials(), [])
        let check = try PostgresConnection(try PostgresLocation(url: url))
        XCTAssertEqual(try check.execute("SELECT max(version) FROM swiftnas_schema").first?.first, "1")
        XCTAssertEqual(try check.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'swiftnas_%'").first?.first, "3")
        // Opening again migrates nothing; a database written by a newer SwiftNAS is refused.
        _ = try PostgresTrialStore(url: url)
        try check.execute("INSERT INTO swiftnas_schema (version) VALUES (99)")
        XCTAssertThrowsError(try PostgresTrialStore(url: url)) { error in
            XCTAssertTrue("\(error)".contains("schema is version 99"), "\(error)")
        }
    }

    func testConcurrentClaimsNeverHandOneTrialToTwoWorkers() throws {
        let url = try TestPostgres.study("claims")
        let estimator = NB201TabularEstimator(table: try SharedTable.require())
        let (configuration, strategy) = try NB201Search.prepare(request("random", budget: Budget(queries: 60), seed: 1), estimator: estimator)
        let store = try PostgresTrialStore(url: url)
        _ = try store.open(configuration, launch: nil, initialState: try strategy.state())
        var random = strategy
        for n in 0..<60 {
            let p = try random.ask()
            try store.recordAsk(TrialRecord(number: n, architecture: NB201SearchSpace().describe(p.architecture), fidelity: 12,
                                            role: .search, status: .asked, askedAt: Date(), askSeconds: 0), strategyState: nil)
            try store.handBack(n, worker: WorkerIdentity.current)
        }
        XCTAssertEqual(try store.trials().filter { $0.status == .queued }.count, 60)
        let lock = NSLock()
        nonisolated(unsafe) var claimed: [(worker: Int, trial: Int)] = []
        nonisolated(unsafe) var failures: [String] = []
        DispatchQueue.concurrentPerform(iterations: 8) { w in
            do {
                let mine = try PostgresTrialStore(url: url)
                while let t = try mine.claimQueued(worker: "claimer-\(w)") {
                    lock.lock(); claimed.append((w, t.number)); lock.unlock()
                }
            } catch {
                lock.lock(); failures.append("\(error)"); lock.unlock()
            }
        }
        XCTAssertEqual(failures, [])
        XCTAssertEqual(claimed.map(\.trial).sorted(), Array(0..<60), "every trial claimed exactly once")
        XCTAssertEqual(try store.counters().map(\.claims), Array(repeating: 2, count: 60))
        XCTAssertEqual(try store.counters().map(\.handBacks), Array(repeating: 1, count: 60))
    }

    /// A worker that goes silent loses its trial to the queue; its late result is then dropped
    /// if another worker completed the trial first, and recorded if not — never both.
    func testAStaleHeartbeatQueuesTheTrialAgainAndItIsToldOnce() throws {
        let url = try TestPostgres.study("stale")
        let estimator = NB201TabularEstimator(table: try SharedTable.require())
        let (configuration, strategy) = try NB201Search.prepare(request("rea", budget: Budget(queries: 5), seed: 2), estimator: estimator)
        let a = try PostgresTrialStore(url: url), b = try PostgresTrialStore(url: url)
        _ = try a.open(configuration, launch: nil, initialState: try strategy.state())
        let restore = { (state: Data?) throws -> any Strategy<NB201SearchSpace> in
            try StrategyCatalog.restore("rea", space: NB201SearchSpace(), state: try XCTUnwrap(state))
        }
        func propose(_ tally: StudyTally, _ state: Data?) throws -> (TrialRecord, Data)? {
            var s = try restore(state)
            let p = try s.ask()
            return (TrialRecord(number: tally.asked, architecture: NB201SearchSpace().describe(p.architecture), fidelity: 12,
                                role: .search, status: .asked, askedAt: Date(), askSeconds: 0), try s.state())
        }
        guard case let .trial(trial) = try a.ask(worker: "A", staleAfter: 60, propose: propose) else { return XCTFail("no trial") }
        // A fresh heartbeat keeps the trial with A.
        usleep(400_000)
        XCTAssertEqual(try a.heartbeat(worker: "A"), 1)
        guard case .trial = try b.ask(worker: "B", staleAfter: 0.3, propose: propose) else { return XCTFail("B should get a new trial") }
        // Silent for longer than B's limit: A's trial is queued again and B claims it.
        usleep(500_000)
        XCTAssertEqual(try b.ask(worker: "B2", staleAfter: 0.3, propose: propose), .requeued(2))
        let taken = try XCTUnwrap(try b.claimQueued(worker: "B2"))
        XCTAssertEqual(taken.number, trial.number)
        func result(_ t: TrialRecord) -> (Data?) throws -> (TrialRecord, Data) {
            { state in
                var s = try restore(state)
                let arch = try NB201SearchSpace().parse(t.architecture)
                try s.tell(Observation(architecture: arch, fidelity: Fidelity(epochs: 12), objective: 50, cost: 12))
                var done = t
                done.status = .complete
                done.objective = 50
                done.cost = 12
                return (done, try s.state())
            }
        }
        XCTAssertTrue(try b.tell(taken.number, complete: result(taken)))
        XCTAssertFalse(try a.tell(trial.number, complete: result(trial)), "A's late result is dropped")
        let counters = try XCTUnwrap(try a.counters().first { $0.number == trial.number })
        XCTAssertEqual(counters, TrialCounters(number: trial.number, claims: 2, completions: 1, staleRequeues: 1, handBacks: 0))
        XCTAssertEqual(try a.trials()[trial.number].status, .complete)
    }

    /// Three workers at once, one of which dies after its first claims: every trial of the budget
    /// is completed exactly once, the dead worker's trial by another worker.
    func testWorkersFinishTheBudgetWhenOneDiesMidTrial() throws {
        let url = try TestPostgres.study("workers")
        let estimator = NB201TabularEstimator(table: try SharedTable.require())
        let r = request("rea", budget: Budget(queries: 80), seed: 3)
        nonisolated(unsafe) let workers = try (0..<3).map { i in try worker(r, url: url, id: "w\(i)", estimator: estimator) }
        workers[0].crashAfterClaims = 4
        for w in workers { w.staleAfter = 0.5; w.heartbeatInterval = 0.1; w.idleWait = 0.05 }
        let lock = NSLock()
        nonisolated(unsafe) var summaries: [Int: WorkerSummary] = [:]
        nonisolated(unsafe) var failures: [String] = []
        DispatchQueue.concurrentPerform(iterations: 3) { i in
            do {
                let s = try workers[i].run()
                lock.lock(); summaries[i] = s; lock.unlock()
            } catch {
                lock.lock(); failures.append("\(error)"); lock.unlock()
            }
        }
        XCTAssertEqual(failures, [])
        let trials = try workers[1].store.trials()
        XCTAssertEqual(trials.count, 80)
        XCTAssertTrue(trials.allSatisfy { $0.status == .complete })
        let counters = try workers[1].store.counters()
        XCTAssertTrue(counters.allSatisfy { $0.completions == 1 }, "a trial was recorded twice")
        XCTAssertGreaterThanOrEqual(counters.map(\.staleRequeues).reduce(0, +), 1)
        XCTAssertEqual(summaries[0]?.evaluated, 3, "the crashed worker finished three trials before it died in its fourth")
        XCTAssertEqual((summaries[1]?.evaluated ?? 0) + (summaries[2]?.evaluated ?? 0), 77)
        // Which worker ran which trial depends on the threads' timing, so only timing-free facts here:
        // the architectures are cells and the search did not collapse onto a few of them.
        XCTAssertTrue(trials.allSatisfy { (try? NB201Cell(parsing: $0.architecture)) != nil })
        XCTAssertGreaterThan(Set(trials.map(\.architecture)).count, 20)
    }

    func testAStudyWithOtherSettingsIsRefused() throws {
        let url = try TestPostgres.study("settings")
        let estimator = NB201TabularEstimator(table: try SharedTable.require())
        let first = try NB201Search.prepare(request("rea", budget: Budget(queries: 10), seed: 0), estimator: estimator)
        let store = try PostgresTrialStore(url: url)
        _ = try store.open(first.configuration, launch: nil, initialState: try first.strategy.state())
        let other = try NB201Search.prepare(request("rea", budget: Budget(queries: 10), seed: 1), estimator: estimator)
        XCTAssertThrowsError(try PostgresTrialStore(url: url).open(other.configuration, launch: nil, initialState: nil)) { error in
            guard case let TrialStoreError.configurationMismatch(_, differences) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(differences, ["seed: stored 0, requested 1"])
        }
    }

    func testBadConnectionsAreOneLineErrors() throws {
        let server = try TestPostgres.url()
        let wrong = server.replacingOccurrences(of: #"swiftnas:[^@]*@"#, with: "swiftnas:not-the-password@", options: .regularExpression)
        XCTAssertNotEqual(wrong, server)
        for (url, expected) in [(wrong + "?study=x", "password authentication failed"),
                                ("postgresql://swiftnas@127.0.0.1:1/postgres?study=x", "Connection refused"),
                                (server, "name the study"),
                                (server + "?study=bad%20name", "a study name is")] {
            let start = Date()
            XCTAssertThrowsError(try PostgresTrialStore(url: url)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(expected), text)
                XCTAssertFalse(text.contains("\n"), "not one line: \(text)")
                XCTAssertFalse(text.contains("not-the-password"), "the password is shown: \(text)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        }
    }
}
