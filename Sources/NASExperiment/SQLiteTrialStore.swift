import Foundation
import GRDB
import NASStrategies
import NASTensor

/// The embedded default trial store: one SQLite file, written through GRDB in WAL mode.
///
/// Each ask and each tell is one transaction (trial row + strategy state), committed before the
/// runner moves on. With WAL, a committed transaction survives the process being killed at any
/// point, and readers (`swiftnas trials`) never block the search. `synchronous = NORMAL` is the
/// WAL setting that survives process crashes; a power cut may lose the last few steps, which a
/// resumed run then simply repeats with the same result.
public final class SQLiteTrialStore: TrialStore {
    public let path: String
    private let pool: DatabasePool

    public var location: String { path }
    public var keepsStrategyState: Bool { true }

    /// The lock that makes this process the store's only writer (nil when read-only).
    private let writerLock: StoreLock?

    /// Opens (or creates) a store. A writer takes an exclusive lock first, so a second search
    /// on the same store is refused at once instead of interleaving with the first; `readOnly`
    /// (for exporting while a search runs) takes no lock and never writes. An existing file that
    /// is not a SwiftNAS store is refused without being changed.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if readOnly {
            guard exists else { throw TrialStoreError.corrupt(store: path, reason: "no such file") }
            writerLock = nil
        } else {
            // A store in a folder that does not exist yet (e.g. `runs/search.sqlite`) creates the folder.
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
            writerLock = try StoreLock(store: path)
        }
        if exists { try Self.checkIsStore(path) }
        var config = Configuration()
        config.readonly = readOnly
        if !readOnly { config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") } }
        do { pool = try DatabasePool(path: path, configuration: config) } catch {
            throw TrialStoreError.corrupt(store: path, reason: "\(error)")
        }
        if readOnly {
            // Reading needs the schema: check it without migrating.
            let ok = (try? pool.read { db in try db.tableExists("experiment") && db.tableExists("trials") }) ?? false
            guard ok else { throw TrialStoreError.notAStore(store: path, reason: "no experiment or trials table") }
            return
        }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE experiment (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    configuration TEXT NOT NULL,
                    created_at REAL NOT NULL
                );
                CREATE TABLE trials (
                    number INTEGER PRIMARY KEY,
                    architecture TEXT NOT NULL,
                    fidelity INTEGER,
                    role TEXT NOT NULL,
                    status TEXT NOT NULL,
                    objective REAL,
                    cost REAL,
                    metrics TEXT NOT NULL,
                    asked_at REAL NOT NULL,
                    told_at REAL,
                    ask_seconds REAL NOT NULL,
                    evaluate_seconds REAL,
                    tell_seconds REAL
                );
                CREATE TABLE strategy_state (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    trial INTEGER NOT NULL,
                    phase TEXT NOT NULL,
                    state BLOB NOT NULL
                );
                """)
        }
        // Each trial row carries a checksum of its contents, so a row edited outside SwiftNAS is
        // refused on resume instead of steering the search with numbers it never measured.
        migrator.registerMigration("v2-checksums") { db in
            try db.execute(sql: "ALTER TABLE trials ADD COLUMN checksum TEXT")
        }
        do { try migrator.migrate(pool) } catch {
            throw TrialStoreError.corrupt(store: path, reason: "not a SwiftNAS trial store (\(error))")
        }
    }

    /// Refuses, before anything writes to it, a file that is not SQLite or whose tables are not
    /// this store's (an empty database is fine: it becomes a store).
    private static func checkIsStore(_ path: String) throws {
        var config = Configuration()
        config.readonly = true
        let names: [String]
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            names = try queue.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            }
        } catch {
            throw TrialStoreError.notAStore(store: path, reason: "not an SQLite database")
        }
        let ours: Set<String> = ["experiment", "trials", "strategy_state", "grdb_migrations"]
        if let foreign = names.sorted().first(where: { !ours.contains($0) }) {
            throw TrialStoreError.notAStore(store: path, reason: "it has a table '\(foreign)'")
        }
        if !names.isEmpty, !names.contains("grdb_migrations") {
            throw TrialStoreError.notAStore(store: path, reason: "it has no SwiftNAS schema version")
        }
    }

    /// The journal mode SQLite reports (`wal` for this store).
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    public func open(_ configuration: ExperimentConfiguration) throws -> StoredExperiment {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(configuration), as: UTF8.self)
        return try pool.write { db in
            if let storedJSON = try String.fetchOne(db, sql: "SELECT configuration FROM experiment WHERE id = 1") {
                let stored = try self.decodeConfiguration(storedJSON)
                if stored != configuration {
                    throw TrialStoreError.configurationMismatch(store: self.path, differences: stored.differences(from: configuration))
                }
            } else {
                try db.execute(sql: "INSERT INTO experiment (id, configuration, created_at) VALUES (1, ?, ?)",
                               arguments: [json, Date().timeIntervalSince1970])
            }
            let trials = try Self.fetchTrials(db, store: self.path)
            let state = try Data.fetchOne(db, sql: "SELECT state FROM strategy_state WHERE id = 1")
            return StoredExperiment(trials: trials, strategyState: state)
        }
    }

    public func recordAsk(_ trial: TrialRecord, strategyState: Data?) throws {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO trials (number, architecture, fidelity, role, status, objective, cost, metrics,
                                    asked_at, told_at, ask_seconds, evaluate_seconds, tell_seconds, checksum)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: StatementArguments(Self.arguments(trial)))
            try Self.saveState(db, strategyState, trial: trial.number, phase: "ask")
        }
    }

    public func recordTell(_ trial: TrialRecord, strategyState: Data?) throws {
        try pool.write { db in
            try db.execute(sql: """
                UPDATE trials SET architecture = ?, fidelity = ?, role = ?, status = ?, objective = ?, cost = ?,
                    metrics = ?, asked_at = ?, told_at = ?, ask_seconds = ?, evaluate_seconds = ?, tell_seconds = ?,
                    checksum = ?
                WHERE number = ?
                """, arguments: StatementArguments(Array(Self.arguments(trial).dropFirst())) + [trial.number])
            guard db.changesCount == 1 else {
                throw TrialStoreError.corrupt(store: self.path, reason: "tell for trial \(trial.number), which was never asked")
            }
            try Self.saveState(db, strategyState, trial: trial.number, phase: "tell")
        }
    }

    public func configuration() throws -> ExperimentConfiguration? {
        guard let json = try pool.read({ db in try String.fetchOne(db, sql: "SELECT configuration FROM experiment WHERE id = 1") })
        else { return nil }
        return try decodeConfiguration(json)
    }

    public func trials() throws -> [TrialRecord] {
        let path = self.path
        return try pool.read { db in try Self.fetchTrials(db, store: path) }
    }

    // MARK: - Rows

    private func decodeConfiguration(_ json: String) throws -> ExperimentConfiguration {
        do { return try JSONDecoder().decode(ExperimentConfiguration.self, from: Data(json.utf8)) } catch {
            throw TrialStoreError.corrupt(store: path, reason: "unreadable configuration (\(error))")
        }
    }

    private static func saveState(_ db: Database, _ state: Data?, trial: Int, phase: String) throws {
        guard let state else { return }
        try db.execute(sql: "INSERT OR REPLACE INTO strategy_state (id, trial, phase, state) VALUES (1, ?, ?, ?)",
                       arguments: [trial, phase, state])
    }

    private static func arguments(_ t: TrialRecord) -> [(any DatabaseValueConvertible)?] {
        [t.number, t.architecture, t.fidelity, t.role.rawValue, t.status.rawValue, t.objective, t.cost, t.metricsJSON,
         t.askedAt.timeIntervalSince1970, t.toldAt?.timeIntervalSince1970, t.askSeconds, t.evaluateSeconds,
         t.tellSeconds, t.rowChecksum]
    }

    /// Reads the trials, refusing rows of the wrong type or whose checksum does not match.
    private static func fetchTrials(_ db: Database, store: String) throws -> [TrialRecord] {
        try Row.fetchAll(db, sql: "SELECT * FROM trials ORDER BY number").enumerated().map { index, row in
            func bad(_ reason: String) -> TrialStoreError { .corrupt(store: store, reason: "trial row \(index): \(reason)") }
            do {
                let number: Int = try row.decode(forColumn: "number")
                let architecture: String = try row.decode(forColumn: "architecture")
                let fidelity: Int? = try row.decode(forColumn: "fidelity")
                let roleText: String = try row.decode(forColumn: "role"), statusText: String = try row.decode(forColumn: "status")
                let objective: Double? = try row.decode(forColumn: "objective"), cost: Double? = try row.decode(forColumn: "cost")
                let metricsJSON: String = try row.decode(forColumn: "metrics")
                guard number == index, let role = TrialRole(rawValue: roleText), let status = TrialStatus(rawValue: statusText) else {
                    throw bad("number, role or status is not one SwiftNAS writes")
                }
                if let stored: String = try row.decode(forColumn: "checksum"),
                   stored != TrialRecord.rowChecksum(number: number, architecture: architecture, fidelity: fidelity, role: roleText,
                                      status: statusText, objective: objective, cost: cost, metrics: metricsJSON) {
                    throw bad("it was changed outside SwiftNAS (its checksum does not match)")
                }
                let metrics = try TrialRecord.metrics(fromJSON: metricsJSON)
                let told: Double? = try row.decode(forColumn: "told_at")
                return TrialRecord(
                    number: number, architecture: architecture, fidelity: fidelity, role: role, status: status,
                    objective: objective, cost: cost, metrics: metrics,
                    askedAt: Date(timeIntervalSince1970: try row.decode(forColumn: "asked_at")),
                    toldAt: told.map(Date.init(timeIntervalSince1970:)),
                    askSeconds: try row.decode(forColumn: "ask_seconds"), evaluateSeconds: try row.decode(forColumn: "evaluate_seconds"),
                    tellSeconds: try row.decode(forColumn: "tell_seconds"))
            } catch let e as TrialStoreError {
                throw e
            } catch {
                throw bad(String("\(error)".prefix(200)))
            }
        }
    }
}
