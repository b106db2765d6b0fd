import Foundation
import NASStrategies
#if canImport(Glibc)
import Glibc
#endif

/// What a study has used so far, read under its lock: budgets and idle workers decide by it.
public struct StudyTally: Equatable, Sendable {
    /// Trials created (the next trial's number).
    public var asked: Int
    public var complete: Int
    /// Cost and seconds of the complete trials.
    public var cost: Double
    public var seconds: Double
}

/// What a worker's request for work gave.
public enum WorkerAsk: Equatable, Sendable {
    /// A new trial, already claimed by the asking worker.
    case trial(TrialRecord)
    /// Trials of silent workers were put back in the queue; claim one.
    case requeued(Int)
    /// The budget allows no new trial; `finished` when every trial is complete.
    case none(finished: Bool)
}

/// How often each trial was claimed, finished and handed back (for checks and the workers bench).
public struct TrialCounters: Equatable, Sendable {
    public var number: Int
    public var claims: Int
    public var completions: Int
    public var staleRequeues: Int
    public var handBacks: Int
}

/// Trials in a PostgreSQL database, shared by worker processes on any number of machines.
///
/// One database holds many studies (experiments), each named by `?study=` in the URL. The rules
/// that keep many workers correct:
/// - The study row holds the strategy state. Asking and telling lock it (`SELECT … FOR UPDATE`),
///   restore the strategy, apply one step and save it in the same transaction, so any worker can
///   ask and the strategy sees every result exactly once.
/// - A trial is claimed by one worker at a time: new trials are created already claimed, and
///   queued ones are taken with `FOR UPDATE SKIP LOCKED`, so concurrent claims never return the
///   same row.
/// - A worker's heartbeat thread refreshes `heartbeat_at` of the trials it holds. A trial whose
///   heartbeat is older than the asking worker's `staleAfter` (or whose worker process on this
///   host is gone) is queued again; a complete trial is never queued again, and a result that
///   arrives for a trial someone else already completed is dropped.
/// Schema versions are numbered (`swiftnas_schema`); a database of a newer version is refused.
public final class PostgresTrialStore: TrialStore {
    /// The schema version this SwiftNAS writes; older databases are migrated, newer refused.
    public static let schemaVersion = 1
    /// Identifies SwiftNAS's migration lock among the database's advisory locks.
    private static let migrationLockKey = "7346201917"

    public let study: String
    public let url: PostgresLocation
    public var location: String { "\(url.display)?study=\(study)" }
    public var keepsStrategyState: Bool { true }
    private let connection: PostgresConnection

    private static let columns = "number, architecture, fidelity, role, status, objective, cost, metrics, asked_at, told_at, "
        + "ask_seconds, evaluate_seconds, tell_seconds, checksum"

    /// Connects, migrates the schema if needed, and selects `study` (else the URL's `?study=`).
    public init(url text: String, study: String? = nil) throws {
        url = try PostgresLocation(url: text)
        guard let name = study ?? url.study else {
            throw TrialStoreError.unreachable(store: url.display, reason: "name the study: add ?study=NAME to the URL")
        }
        try PostgresLocation.checkStudyName(name)
        self.study = name
        connection = try PostgresConnection(url)
        try migrate()
    }

    /// A second connection to the same study (a heartbeat thread needs its own).
    public func reconnected() throws -> PostgresTrialStore {
        try PostgresTrialStore(study: study, location: url)
    }

    private init(study: String, location: PostgresLocation) throws {
        url = location
        self.study = study
        connection = try PostgresConnection(location)
    }

    private static let migrations: [String] = [
        // 1: studies with their strategy state; trials with who holds them and since when.
        """
        CREATE TABLE swiftnas_studies (
            name text PRIMARY KEY,
            configuration text NOT NULL,
            launch text NOT NULL DEFAULT '{}',
            strategy_state bytea,
            next_number integer NOT NULL DEFAULT 0,
            created_at double precision NOT NULL
        );
        CREATE TABLE swiftnas_trials (
            study text NOT NULL REFERENCES swiftnas_studies(name) ON DELETE CASCADE,
            number integer NOT NULL,
            architecture text NOT NULL,
            fidelity integer,
            role text NOT NULL,
            status text NOT NULL,
            objective double precision,
            cost double precision,
            metrics text NOT NULL,
            asked_at double precision NOT NULL,
            told_at double precision,
            ask_seconds double precision NOT NULL,
            evaluate_seconds double precision,
            tell_seconds double precision,
            checksum text NOT NULL,
            worker text,
            heartbeat_at timestamptz,
            claims integer NOT NULL DEFAULT 1,
            completions integer NOT NULL DEFAULT 0,
            stale_requeues integer NOT NULL DEFAULT 0,
            hand_backs integer NOT NULL DEFAULT 0,
            PRIMARY KEY (study, number)
        );
        CREATE INDEX swiftnas_trials_status ON swiftnas_trials (study, status);
        """,
    ]

    /// Brings the schema to `schemaVersion` under an advisory lock, so workers starting together
    /// migrate once; refuses a database written by a newer SwiftNAS.
    private func migrate() throws {
        try connection.transaction {
            try connection.execute("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))")
            try connection.execute("CREATE TABLE IF NOT EXISTS swiftnas_schema (version integer NOT NULL)")
            let cell = try connection.execute("SELECT max(version) FROM swiftnas_schema").first?.first ?? nil
            let found = cell.flatMap { Int($0) } ?? 0
            guard found <= Self.schemaVersion else {
                throw TrialStoreError.notAStore(store: location,
                    reason: "its SwiftNAS schema is version \(found), this SwiftNAS reads up to version \(Self.schemaVersion): use a newer SwiftNAS")
            }
            for version in (found + 1)..<(Self.schemaVersion + 1) {
                try connection.execute(Self.migrations[version - 1])
                try connection.execute("INSERT INTO swiftnas_schema (version) VALUES ($1)", [String(version)])
            }
        }
    }

    // MARK: - TrialStore

    public func open(_ configuration: ExperimentConfiguration) throws -> StoredExperiment {
        try open(configuration, launch: nil, initialState: nil)
    }

    /// Creates the study, or reopens it if `configuration` equals the stored one. `launch` (JSON:
    /// what a worker needs beyond the configuration, such as the table's path) and the fresh
    /// strategy's `initialState` are kept from the first call.
    public func open(_ configuration: ExperimentConfiguration, launch: String?, initialState: Data?) throws -> StoredExperiment {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(configuration), as: UTF8.self)
        return try connection.transaction {
            try connection.execute("""
                INSERT INTO swiftnas_studies (name, configuration, launch, strategy_state, created_at)
                VALUES ($1, $2, $3, $4::bytea, $5) ON CONFLICT (name) DO NOTHING
                """, [study, json, launch ?? "{}", initialState.map(Self.hex), String(Date().timeIntervalSince1970)])
            let row = try lockedStudyRow()
            let stored = try decodeConfiguration(row.configuration)
            if stored != configuration {
                throw TrialStoreError.configurationMismatch(store: location, differences: stored.differences(from: configuration))
            }
            return StoredExperiment(trials: try trials(), strategyState: row.state)
        }
    }

    public func recordAsk(_ trial: TrialRecord, strategyState: Data?) throws {
        try connection.transaction {
            _ = try lockedStudyRow()
            try insert(trial, worker: WorkerIdentity.current)
            try saveState(strategyState, nextNumber: trial.number + 1)
        }
    }

    public func recordTell(_ trial: TrialRecord, strategyState: Data?) throws {
        try connection.transaction {
            _ = try lockedStudyRow()
            guard try complete(trial) else {
                throw TrialStoreError.corrupt(store: location, reason: "tell for trial \(trial.number), which was never asked")
            }
            try saveState(strategyState, nextNumber: nil)
        }
    }

    public func configuration() throws -> ExperimentConfiguration? {
        guard let row = try connection.execute("SELECT configuration FROM swiftnas_studies WHERE name = $1", [study]).first,
              let json = row[0] else { return nil }
        return try decodeConfiguration(json)
    }

    /// What the study's creator stored for workers (JSON), or nil for a study that does not exist.
    public func launch() throws -> String? {
        try connection.execute("SELECT launch FROM swiftnas_studies WHERE name = $1", [study]).first?.first ?? nil
    }

    public func trials() throws -> [TrialRecord] {
        try connection.execute("SELECT \(Self.columns) FROM swiftnas_trials WHERE study = $1 ORDER BY number", [study])
            .enumerated().map { try decodeTrial($1, index: $0) }
    }

    // MARK: - Workers

    /// Asks for work under the study's lock: first puts trials of silent workers back in the
    /// queue; if there were none, `propose` gets the tally and the strategy state and returns a
    /// new trial with the strategy's next state, or nil when the budget allows no more.
    public func ask(worker: String, staleAfter: Double,
                    propose: (StudyTally, Data?) throws -> (TrialRecord, Data)?) throws -> WorkerAsk {
        try connection.transaction {
            let row = try lockedStudyRow()
            let requeued = try requeueSilentWorkers(staleAfter: staleAfter)
            if requeued > 0 { return .requeued(requeued) }
            let tally = try self.tally(nextNumber: row.nextNumber)
            guard let (trial, state) = try propose(tally, row.state) else {
                return .none(finished: tally.complete == tally.asked)
            }
            guard trial.number == row.nextNumber else {
                throw TrialStoreError.corrupt(store: location, reason: "a new trial numbered \(trial.number), expected \(row.nextNumber)")
            }
            try insert(trial, worker: worker)
            try saveState(state, nextNumber: trial.number + 1)
            return .trial(trial)
        }
    }

    /// Claims the oldest queued trial for `worker`, skipping rows another worker is claiming.
    public func claimQueued(worker: String) throws -> TrialRecord? {
        try connection.transaction {
            guard let row = try connection.execute("""
                SELECT \(Self.columns) FROM swiftnas_trials WHERE study = $1 AND status = 'queued'
                ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED
                """, [study]).first else { return nil }
            var trial = try decodeTrial(row, index: nil)
            trial.status = .asked
            try connection.execute("""
                UPDATE swiftnas_trials SET status = $3, checksum = $4, worker = $5, heartbeat_at = now(), claims = claims + 1
                WHERE study = $1 AND number = $2
                """, [study, String(trial.number), trial.status.rawValue, trial.rowChecksum, worker])
            return trial
        }
    }

    /// Records a result under the study's lock: `complete` gets the strategy state and returns the
    /// finished trial and the state after telling the strategy. Returns false, and changes nothing,
    /// when another worker completed the trial meanwhile (a trial is told once; this result is dropped).
    public func tell(_ number: Int, complete: (Data?) throws -> (TrialRecord, Data)) throws -> Bool {
        try connection.transaction {
            let row = try lockedStudyRow()
            guard let status = try connection.execute(
                "SELECT status FROM swiftnas_trials WHERE study = $1 AND number = $2 FOR UPDATE", [study, String(number)]
            ).first?.first ?? nil else {
                throw TrialStoreError.corrupt(store: location, reason: "a result for trial \(number), which was never asked")
            }
            if status == TrialStatus.complete.rawValue { return false }
            let (trial, state) = try complete(row.state)
            guard trial.number == number, try self.complete(trial) else {
                throw TrialStoreError.corrupt(store: location, reason: "a result for trial \(trial.number) given as trial \(number)")
            }
            try saveState(state, nextNumber: nil)
            return true
        }
    }

    /// Refreshes the heartbeat of every trial `worker` holds; returns how many it holds.
    @discardableResult
    public func heartbeat(worker: String) throws -> Int {
        try connection.execute("""
            UPDATE swiftnas_trials SET heartbeat_at = now() WHERE study = $1 AND worker = $2 AND status = 'asked'
            RETURNING number
            """, [study, worker]).count
    }

    /// Puts a trial `worker` holds back in the queue (the worker was asked to stop mid-trial).
    public func handBack(_ number: Int, worker: String) throws {
        try connection.transaction {
            guard let row = try connection.execute("""
                SELECT \(Self.columns) FROM swiftnas_trials WHERE study = $1 AND number = $2 AND worker = $3 AND status = 'asked'
                FOR UPDATE
                """, [study, String(number), worker]).first else { return }
            try queue(try decodeTrial(row, index: nil), counter: "hand_backs")
        }
    }

    public func counters() throws -> [TrialCounters] {
        try connection.execute("""
            SELECT number, claims, completions, stale_requeues, hand_backs FROM swiftnas_trials WHERE study = $1 ORDER BY number
            """, [study]).map { row in
            let n = row.map { $0.flatMap(Int.init) ?? 0 }
            return TrialCounters(number: n[0], claims: n[1], completions: n[2], staleRequeues: n[3], handBacks: n[4])
        }
    }

    // MARK: - Rows

    /// The study's row, locked until the transaction ends: every step of the study goes through it.
    private func lockedStudyRow() throws -> (configuration: String, state: Data?, nextNumber: Int) {
        guard let row = try connection.execute(
            "SELECT configuration, strategy_state, next_number FROM swiftnas_studies WHERE name = $1 FOR UPDATE", [study]
        ).first, let configuration = row[0], let next = row[2].flatMap(Int.init) else {
            throw TrialStoreError.corrupt(store: location, reason: "the study does not exist (create it with swiftnas search)")
        }
        return (configuration, try row[1].map(decodeBytea), next)
    }

    private func tally(nextNumber: Int) throws -> StudyTally {
        let row = try connection.execute("""
            SELECT count(*), coalesce(sum(cost), 0), coalesce(sum(ask_seconds + coalesce(evaluate_seconds, 0) + coalesce(tell_seconds, 0)), 0)
            FROM swiftnas_trials WHERE study = $1 AND status = 'complete'
            """, [study]).first ?? []
        func number(_ i: Int) -> Double { row.count > i ? row[i].flatMap(Double.init) ?? 0 : 0 }
        return StudyTally(asked: nextNumber, complete: Int(number(0)), cost: number(1), seconds: number(2))
    }

    /// Queues the trials whose worker went silent: no heartbeat for `staleAfter` seconds, or a
    /// worker process on this host that no longer exists (found at once, without waiting).
    private func requeueSilentWorkers(staleAfter: Double) throws -> Int {
        let rows = try connection.execute("""
            SELECT \(Self.columns), worker, extract(epoch FROM now() - heartbeat_at) FROM swiftnas_trials
            WHERE study = $1 AND status = 'asked' ORDER BY number FOR UPDATE
            """, [study])
        var count = 0
        for row in rows {
            let silent = (row[15].flatMap(Double.init) ?? .infinity) > staleAfter
            guard silent || WorkerIdentity.isGoneFromThisHost(row[14]) else { continue }
            try queue(try decodeTrial(Array(row.prefix(14)), index: nil), counter: "stale_requeues")
            count += 1
        }
        return count
    }

    private func queue(_ trial: TrialRecord, counter: String) throws {
        var trial = trial
        trial.status = .queued
        try connection.execute("""
            UPDATE swiftnas_trials SET status = $3, checksum = $4, worker = NULL, \(counter) = \(counter) + 1
            WHERE study = $1 AND number = $2
            """, [study, String(trial.number), trial.status.rawValue, trial.rowChecksum])
    }

    private func insert(_ t: TrialRecord, worker: String) throws {
        try connection.execute("""
            INSERT INTO swiftnas_trials (study, \(Self.columns), worker, heartbeat_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, now())
            """, [study] + Self.values(t) + [worker])
    }

    /// Writes a trial's result; false when there is no such trial.
    private func complete(_ t: TrialRecord) throws -> Bool {
        let v = Self.values(t)
        return try !connection.execute("""
            UPDATE swiftnas_trials SET architecture = $3, fidelity = $4, role = $5, status = $6, objective = $7, cost = $8,
                metrics = $9, asked_at = $10, told_at = $11, ask_seconds = $12, evaluate_seconds = $13, tell_seconds = $14,
                checksum = $15, worker = NULL, completions = completions + 1
            WHERE study = $1 AND number = $2 RETURNING number
            """, [study] + v).isEmpty
    }

    private func saveState(_ state: Data?, nextNumber: Int?) throws {
        if let state {
            try connection.execute("UPDATE swiftnas_studies SET strategy_state = $2::bytea WHERE name = $1", [study, Self.hex(state)])
        }
        if let nextNumber {
            try connection.execute("UPDATE swiftnas_studies SET next_number = $2 WHERE name = $1", [study, String(nextNumber)])
        }
    }

    /// Doubles as text that reads back bit for bit (17 significant digits).
    private static func text(_ x: Double?) -> String? { x.map { String(format: "%.17g", $0) } }

    private static func values(_ t: TrialRecord) -> [String?] {
        [String(t.number), t.architecture, t.fidelity.map(String.init), t.role.rawValue, t.status.rawValue,
         text(t.objective), text(t.cost), t.metricsJSON, text(t.askedAt.timeIntervalSince1970),
         text(t.toldAt?.timeIntervalSince1970), text(t.askSeconds), text(t.evaluateSeconds), text(t.tellSeconds),
         t.rowChecksum]
    }

    /// Reads a trial row, refusing values SwiftNAS does not write and rows changed outside it.
    private func decodeTrial(_ row: [String?], index: Int?) throws -> TrialRecord {
        func bad(_ reason: String) -> TrialStoreError {
            .corrupt(store: location, reason: "trial row \(row.first.flatMap { $0 } ?? "?"): \(reason)")
        }
        guard row.count >= 14, let number = row[0].flatMap(Int.init), let architecture = row[1],
              let role = row[3].flatMap(TrialRole.init(rawValue:)), let status = row[4].flatMap(TrialStatus.init(rawValue:)),
              let metricsJSON = row[7], let askedAt = row[8].flatMap(Double.init), let askSeconds = row[10].flatMap(Double.init)
        else { throw bad("number, role, status or timing is not one SwiftNAS writes") }
        if let index, number != index { throw bad("trial numbers are not 0, 1, 2, …") }
        func double(_ i: Int) throws -> Double? {
            guard let text = row[i] else { return nil }
            guard let x = Double(text) else { throw bad("'\(text)' is not a number") }
            return x
        }
        let fidelity = row[2].flatMap(Int.init)
        let metrics: [String: Double]
        do { metrics = try TrialRecord.metrics(fromJSON: metricsJSON) } catch {
            throw bad("its metrics are not a JSON object of numbers")
        }
        let trial = TrialRecord(number: number, architecture: architecture, fidelity: fidelity, role: role, status: status,
                                objective: try double(5), cost: try double(6), metrics: metrics,
                                askedAt: Date(timeIntervalSince1970: askedAt), toldAt: try double(9).map(Date.init(timeIntervalSince1970:)),
                                askSeconds: askSeconds, evaluateSeconds: try double(11), tellSeconds: try double(12))
        guard row[13] == trial.rowChecksum else { throw bad("it was changed outside SwiftNAS (its checksum does not match)") }
        return trial
    }

    private func decodeConfiguration(_ json: String) throws -> ExperimentConfiguration {
        do { return try JSONDecoder().decode(ExperimentConfiguration.self, from: Data(json.utf8)) } catch {
            throw TrialStoreError.corrupt(store: location, reason: "unreadable configuration (\(error))")
        }
    }

    /// bytea as PostgreSQL's hex text form, `\x0a1b…`.
    private static func hex(_ data: Data) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        bytes.reserveCapacity(2 + data.count * 2)
        for b in data { bytes.append(digits[Int(b >> 4)]); bytes.append(digits[Int(b & 15)]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func decodeBytea(_ text: String) throws -> Data {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x"), bytes.count % 2 == 0 else {
            throw TrialStoreError.corrupt(store: location, reason: "the strategy state is not hex bytea")
        }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out = Data(capacity: (bytes.count - 2) / 2)
        var i = 2
        while i < bytes.count {
            guard let hi = nibble(bytes[i]), let lo = nibble(bytes[i + 1]) else {
                throw TrialStoreError.corrupt(store: location, reason: "the strategy state is not hex bytea")
            }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

/// Names a worker process as `pid@host`, so that another worker on the same host can tell that
/// it is gone without waiting for its heartbeat to go stale.
public enum WorkerIdentity {
    public static let current = "\(getpid())@\(ProcessInfo.processInfo.hostName)"

    static func isGoneFromThisHost(_ worker: String?) -> Bool {
        guard let worker, let at = worker.firstIndex(of: "@"), let pid = Int32(worker[..<at]), pid > 0,
              worker[worker.index(after: at)...] == ProcessInfo.processInfo.hostName else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
