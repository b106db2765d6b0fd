import CLibPQ
import Foundation

/// Where a PostgreSQL trial store lives, from a URL such as
/// `postgresql://user[:password]@host[:port]/database?study=name`.
///
/// libpq reads the URL itself (so `sslmode`, `connect_timeout`, `PGPASSWORD` and `~/.pgpass`
/// work as in every PostgreSQL tool); SwiftNAS only takes out its own `study` parameter, which
/// names the experiment inside the database, and hides the password in messages.
public struct PostgresLocation: Equatable, Sendable {
    /// What libpq connects with: the URL without `study`, with a connect timeout unless one is given.
    public let connectionString: String
    /// The study named in the URL, if any.
    public let study: String?
    /// The URL as messages show it: no password, no study.
    public let display: String

    public static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    public init(url: String) throws {
        guard Self.isPostgresURL(url) else {
            throw TrialStoreError.unreachable(store: url, reason: "not a postgresql:// URL")
        }
        let parts = url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var kept: [String] = []
        var study: String?
        if parts.count == 2 {
            for item in parts[1].split(separator: "&") where !item.isEmpty {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if pair[0] == "study" {
                    let value = pair.count == 2 ? String(pair[1]).removingPercentEncoding ?? "" : ""
                    study = value
                } else {
                    kept.append(String(item))
                }
            }
        }
        if !kept.contains(where: { $0.hasPrefix("connect_timeout=") }) { kept.append("connect_timeout=10") }
        let base = String(parts[0])
        connectionString = base + "?" + kept.joined(separator: "&")
        self.study = study
        // user:password@host → user@host
        var shown = base
        if let schemeEnd = shown.range(of: "://"), let at = shown.range(of: "@", range: schemeEnd.upperBound..<shown.endIndex),
           let colon = shown.range(of: ":", range: schemeEnd.upperBound..<at.lowerBound) {
            shown.replaceSubrange(colon.lowerBound..<at.lowerBound, with: "")
        }
        display = shown
        if let study { try Self.checkStudyName(study) }
    }

    /// Study names are identifiers a person types: letters, digits, `_`, `-`, `.`; 1–100 characters.
    public static func checkStudyName(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
        guard (1...100).contains(name.count), name.allSatisfy(allowed.contains) else {
            throw TrialStoreError.unreachable(store: "study '\(name)'",
                                              reason: "a study name is 1–100 letters, digits, '_', '-' or '.'")
        }
    }
}

/// One connection to a PostgreSQL server through libpq, used from one thread at a time.
///
/// Statements go through `PQexecParams` with text parameters (never spliced into the SQL) and
/// text results; every failure becomes a `TrialStoreError` naming the server and what it said.
final class PostgresConnection {
    private let handle: OpaquePointer
    let location: String

    init(_ location: PostgresLocation) throws {
        self.location = location.display
        guard let h = PQconnectdb(location.connectionString) else {
            throw TrialStoreError.unreachable(store: location.display, reason: "libpq could not allocate a connection")
        }
        guard PQstatus(h) == CONNECTION_OK else {
            let reason = Self.firstLine(PQerrorMessage(h))
            PQfinish(h)
            throw TrialStoreError.unreachable(store: location.display, reason: reason)
        }
        handle = h
        // CREATE … IF NOT EXISTS and friends send NOTICEs, which libpq would print on stderr.
        try execute("SET client_min_messages = warning")
    }

    deinit { PQfinish(handle) }

    private static func firstLine(_ message: UnsafePointer<CChar>?) -> String {
        let text = message.map { String(cString: $0) } ?? "unknown error"
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // libpq prefixes connection failures with the socket it tried; the last line says why.
        return lines.last(where: { !$0.hasPrefix("Is the server running") }) ?? lines.first ?? "unknown error"
    }

    /// Runs one statement with `$1…$n` parameters (nil is SQL NULL) and returns its rows as text.
    /// Without parameters, `sql` may hold several statements (a migration).
    @discardableResult
    func execute(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
        let copies: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.flatMap { strdup($0) } }
        defer { copies.forEach { free($0) } }
        let values: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
        let result = parameters.isEmpty ? PQexec(handle, sql) : values.withUnsafeBufferPointer { buffer in
            PQexecParams(handle, sql, Int32(parameters.count), nil, buffer.baseAddress, nil, nil, 0)
        }
        guard let result else {
            throw TrialStoreError.unreachable(store: location, reason: Self.firstLine(PQerrorMessage(handle)))
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let message = Self.firstLine(PQresultErrorMessage(result))
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
            throw PostgresStatementError(sqlState: state, message: message, location: location)
        }
        let rows = Int(PQntuples(result)), columns = Int(PQnfields(result))
        var out: [[String?]] = []
        out.reserveCapacity(rows)
        for r in 0..<rows {
            out.append((0..<columns).map { c in
                PQgetisnull(result, Int32(r), Int32(c)) == 1 ? nil : String(cString: PQgetvalue(result, Int32(r), Int32(c)))
            })
        }
        return out
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }
}

/// A statement the server refused, with its SQLSTATE (e.g. `40P01`, a deadlock).
struct PostgresStatementError: Error, CustomStringConvertible {
    let sqlState: String
    let message: String
    let location: String
    var description: String { "PostgreSQL at \(location) refused a statement: \(message) (SQLSTATE \(sqlState))" }
}
