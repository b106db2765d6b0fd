import NASArchitectures

/// Why the NAS-Bench-201 table could not be loaded. Messages name the file, the line and the
/// field, because the table is large and users fetch it themselves.
public enum NB201TableError: Error, CustomStringConvertible, Equatable {
    case embeddedMissing(searched: [String])
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case badHeader(path: String, column: Int, found: String, expected: String)
    case badRow(path: String, line: Int, reason: String)
    case wrongRowCount(path: String, found: Int)

    public var description: String {
        switch self {
        case let .embeddedMissing(searched):
            return "the NAS-Bench-201 table that ships with SwiftNAS is missing (looked for "
                + searched.joined(separator: ", ") + "): pass --benchmark PATH or set \(NB201Table.environmentVariable)"
        case let .fileNotFound(path):
            return "NAS-Bench-201 table not found at \(path) (expected the nasbench201.csv file with 15,625 rows)"
        case let .unreadable(path, reason):
            return "cannot read NAS-Bench-201 table \(path): \(reason)"
        case let .badHeader(path, column, found, expected):
            return "\(path) is not the NAS-Bench-201 table: header column \(column + 1) is '\(found)', expected '\(expected)'"
        case let .badRow(path, line, reason):
            return "\(path), line \(line): \(reason)"
        case let .wrongRowCount(path, found):
            return "\(path) has \(found) data rows; the NAS-Bench-201 table has \(NB201Cell.spaceSize)"
        }
    }
}
