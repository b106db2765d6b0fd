import Foundation
import NASFiles
import NASArchitectures

/// The NAS-Bench-201 table: every cell's trained accuracies, parameter count and NASWOT score,
/// indexed by NB201 architecture index (0..15624).
///
/// The loader reads the file as bytes and splits it by hand — a generic CSV reader spends most
/// of its time on quoting rules this file does not use — so the 5.8 MB table loads in tens of
/// milliseconds in a release build.
public struct NB201Table: Sendable {
    /// Environment variable naming the table file when no flag or config gives it.
    public static let environmentVariable = "SWIFTNAS_NB201"

    /// Where the table was read from.
    public let path: String
    /// Cell of each architecture index.
    public let cells: [NB201Cell]
    /// The table's `nats_unique_str` per index (NATS-Bench's isomorphism class).
    public let uniqueStrings: [String]
    /// Column-major values: `values[column][index]`; NaN marks an empty field.
    private let values: [[Double]]
    /// Architecture index of each cell code.
    private let indexOfCode: [Int32]

    public var count: Int { cells.count }

    /// Picks the table file: an explicit one (flag or config) wins over the environment; nil means
    /// the table that ships with SwiftNAS.
    public static func resolvePath(explicit: String?,
                                   environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let p = explicit, !p.isEmpty { return p }
        if let p = environment[environmentVariable], !p.isEmpty { return p }
        return nil
    }

    /// The table named by the flag/config or the environment, else the embedded one.
    public static func load(explicit: String?,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> NB201Table {
        if let path = resolvePath(explicit: explicit, environment: environment) { return try NB201Table(contentsOf: path) }
        return try embedded()
    }

    /// The compact table that ships with SwiftNAS (all 15,625 cells, every numeric column at the
    /// full table's precision; see docs/nasbench201_table.md).
    public static func embedded() throws -> NB201Table {
        try NB201Table(contentsOf: try EmbeddedTableFile.locate())
    }

    /// Reads the full CSV or the compact table, gzipped or not.
    public init(contentsOf path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw NB201TableError.fileNotFound(path: path) }
        let bytes: [UInt8]
        do { bytes = try readPossiblyGzipped(path) } catch {
            throw NB201TableError.unreadable(path: path, reason: "\(error)")
        }
        try self.init(csv: Data(bytes), path: path)
    }

    /// Parses the table from the bytes of the CSV file.
    public init(csv data: Data, path: String = "<memory>") throws {
        // A trailing NUL lets strtod stop safely at the last field even without a final newline.
        var bytes = [UInt8](data)
        bytes.append(0)
        let numericCount = NB201Column.allCases.count
        var columns = [[Double]](repeating: [], count: numericCount)
        for c in 0..<numericCount { columns[c].reserveCapacity(NB201Cell.spaceSize) }
        var cells: [NB201Cell] = []
        var unique: [String] = []
        cells.reserveCapacity(NB201Cell.spaceSize)
        unique.reserveCapacity(NB201Cell.spaceSize)

        let end = bytes.count - 1
        let comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        try bytes.withUnsafeBufferPointer { buf in
            var pos = 0
            /// Fields of the line starting at `pos` as byte ranges; advances `pos` past the line.
            func nextLine() -> [Range<Int>] {
                var fields: [Range<Int>] = []
                var start = pos
                while pos < end, buf[pos] != newline {
                    if buf[pos] == comma { fields.append(start..<pos); start = pos + 1 }
                    pos += 1
                }
                var stop = pos
                if stop > start, buf[stop - 1] == cr { stop -= 1 }
                fields.append(start..<stop)
                if pos < end { pos += 1 }
                return fields
            }
            func text(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: buf[r]), as: UTF8.self) }
            /// A field as error messages show it: long fields are cut so an error stays one short line.
            func brief(_ r: Range<Int>) -> String {
                r.count > 60 ? text(r.lowerBound..<(r.lowerBound + 60)) + "…" : text(r)
            }

            if end == 0 { throw NB201TableError.badHeader(path: path, column: 0, found: "", expected: NB201Column.header[0]) }
            let header = nextLine()
            // Two layouts: the full table, and the compact one without `arch_str` (which `op_codes`
            // encodes one-to-one). The second header field tells them apart.
            let compact = header.count > 1 && text(header[1]) == NB201Column.compactHeader[1]
            let expected = compact ? NB201Column.compactHeader : NB201Column.header
            for (i, name) in expected.enumerated() {
                let found = i < header.count ? brief(header[i]) : "<missing>"
                if found != name {
                    throw NB201TableError.badHeader(path: path, column: i, found: found, expected: name)
                }
            }
            if header.count != expected.count {
                throw NB201TableError.badHeader(path: path, column: expected.count,
                                                found: brief(header[expected.count]), expected: "<end of line>")
            }
            let firstValue = expected.count - numericCount
            var line = 1
            while pos < end {
                line += 1
                let fields = nextLine()
                if fields.count == 1, fields[0].isEmpty { continue }  // blank line (e.g. at the end)
                guard fields.count == expected.count else {
                    throw NB201TableError.badRow(path: path, line: line,
                                                 reason: "\(fields.count) fields, expected \(expected.count)")
                }
                let expectedIndex = cells.count
                guard expectedIndex < NB201Cell.spaceSize else {
                    throw NB201TableError.wrongRowCount(path: path, found: expectedIndex + 1)
                }
                guard Int(text(fields[0])) == expectedIndex else {
                    throw NB201TableError.badRow(path: path, line: line,
                                                 reason: "arch_index is '\(brief(fields[0]))', expected \(expectedIndex)")
                }
                let opCodes = text(fields[compact ? 1 : 2])
                let shownCodes = brief(fields[compact ? 1 : 2])
                let cell: NB201Cell
                if compact {
                    guard let c = NB201Cell(opCodes: opCodes) else {
                        throw NB201TableError.badRow(path: path, line: line,
                                                     reason: "op_codes '\(shownCodes)' is not six digits 0-4")
                    }
                    cell = c
                } else {
                    do { cell = try NB201Cell(parsing: text(fields[1])) } catch {
                        throw NB201TableError.badRow(path: path, line: line, reason: "arch_str: \(error)")
                    }
                    guard cell.opCodes == opCodes else {
                        throw NB201TableError.badRow(path: path, line: line,
                                                     reason: "op_codes '\(shownCodes)' disagrees with arch_str (\(cell.opCodes))")
                    }
                }
                cells.append(cell)
                unique.append(text(fields[firstValue - 1]))
                for c in 0..<numericCount {
                    let r = fields[firstValue + c]
                    if r.isEmpty { columns[c].append(.nan); continue }
                    var stop: UnsafeMutablePointer<CChar>?
                    let start = UnsafeMutableRawPointer(mutating: buf.baseAddress! + r.lowerBound)
                        .assumingMemoryBound(to: CChar.self)
                    let v = strtod(start, &stop)
                    guard let stop, UnsafeRawPointer(stop) == UnsafeRawPointer(buf.baseAddress! + r.upperBound) else {
                        throw NB201TableError.badRow(path: path, line: line,
                                                     reason: "\(NB201Column.allCases[c].rawValue) is '\(brief(r))', not a number")
                    }
                    // A missing value is an empty field; inf or nan would poison every comparison.
                    guard v.isFinite else {
                        throw NB201TableError.badRow(path: path, line: line,
                                                     reason: "\(NB201Column.allCases[c].rawValue) is '\(brief(r))', not a finite number")
                    }
                    columns[c].append(v)
                }
            }
        }
        guard cells.count == NB201Cell.spaceSize else { throw NB201TableError.wrongRowCount(path: path, found: cells.count) }
        var indexOfCode = [Int32](repeating: -1, count: NB201Cell.spaceSize)
        for (i, cell) in cells.enumerated() {
            guard indexOfCode[cell.code] < 0 else {
                throw NB201TableError.badRow(path: path, line: i + 2, reason: "arch_str \(cell) appears twice")
            }
            indexOfCode[cell.code] = Int32(i)
        }
        self.path = path
        self.cells = cells
        self.uniqueStrings = unique
        self.values = columns
        self.indexOfCode = indexOfCode
    }

    /// NB201 architecture index of `cell`.
    public func index(of cell: NB201Cell) -> Int { Int(indexOfCode[cell.code]) }

    /// The value of `column` for `cell`; nil where the table has no value.
    public func value(_ column: NB201Column, for cell: NB201Cell) -> Double? {
        let v = values[column.columnIndex][index(of: cell)]
        return v.isNaN ? nil : v
    }

    /// Every value of a column, by architecture index (NaN where missing).
    public func column(_ column: NB201Column) -> [Double] { values[column.columnIndex] }

    /// The cell with the highest value of `column` (first on ties, by index).
    public func best(by column: NB201Column) -> (cell: NB201Cell, value: Double) {
        let col = values[column.columnIndex]
        var bestIndex = 0
        for i in 1..<col.count where col[i] > col[bestIndex] || col[bestIndex].isNaN { bestIndex = i }
        return (cells[bestIndex], col[bestIndex])
    }
}

extension NB201Column {
    var columnIndex: Int { NB201Column.allCases.firstIndex(of: self)! }
}
