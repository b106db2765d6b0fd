import Foundation
import XCTest
import NASSpaces
import NASBench

final class NB201TableTests: XCTestCase {
    func testValuesAndOptimum() throws {
        let table = try SharedTable.require()
        let (best, value) = table.best(by: .natsC10Test200)
        XCTAssertEqual(table.index(of: best), 6_111)
        XCTAssertEqual(value, 94.37333333333333)
        XCTAssertEqual(table.value(.nb201C10ValidValid12, for: best), 84.3840000012207)
        XCTAssertEqual(table.value(.paramsM, for: best), 1.073466)
        // The 341 disconnected cells have no NASWOT score.
        XCTAssertEqual(table.column(.naswotScoreV1).filter(\.isNaN).count, 341)
        XCTAssertNil(table.value(.naswotScoreV1, for: NB201Cell(code: 0)))
    }

    func testEstimatorChargesEpochsAndRejectsOtherFidelities() throws {
        let estimator = NB201TabularEstimator(table: try SharedTable.require())
        let cell = try NB201Cell(parsing: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
        let e12 = try estimator.evaluate(cell, fidelity: Fidelity(epochs: 12))
        XCTAssertEqual(e12.cost, 12)
        XCTAssertEqual(e12.metrics[Objective(metric: "nb201_c10valid_valid_12").metric(at: Fidelity(epochs: 12))], 84.3840000012207)
        let e200 = try estimator.evaluate(cell, fidelity: Fidelity(epochs: 200))
        XCTAssertEqual(e200.cost, 200)
        XCTAssertEqual(e200.metrics[Objective(metric: "nb201_c10valid_valid_12").metric(at: Fidelity(epochs: 200))], 91.60666665039064)
        XCTAssertThrowsError(try estimator.evaluate(cell, fidelity: Fidelity(epochs: 50))) { error in
            XCTAssertEqual(error as? EstimatorError,
                           .unsupportedFidelity(Fidelity(epochs: 50), available: estimator.fidelities))
        }
    }

    func testMissingAndMalformedFilesGetClearErrors() throws {
        XCTAssertThrowsError(try NB201Table(contentsOf: "/nonexistent/nb201.csv")) { error in
            XCTAssertEqual(error as? NB201TableError, .fileNotFound(path: "/nonexistent/nb201.csv"))
            XCTAssertTrue("\(error)".contains("/nonexistent/nb201.csv"))
        }
        XCTAssertThrowsError(try NB201Table(csv: Data("a,b,c\n1,2,3\n".utf8))) { error in
            XCTAssertEqual(error as? NB201TableError,
                           .badHeader(path: "<memory>", column: 0, found: "a", expected: "arch_index"))
        }
        let header = NB201Column.header.joined(separator: ",")
        let badNumber = header + "\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,000000,#,x"
            + String(repeating: ",1", count: 13) + "\n"
        XCTAssertThrowsError(try NB201Table(csv: Data(badNumber.utf8))) { error in
            XCTAssertEqual("\(error)", "<memory>, line 2: nats_c10_test_200 is 'x', not a number")
        }
        let badArch = header + "\n0,|none~0|+|none~0|none~1|+|none~0|none~1|zero~2|,000000,#" + String(repeating: ",1", count: 14)
        XCTAssertThrowsError(try NB201Table(csv: Data(badArch.utf8))) { error in
            XCTAssertTrue("\(error)".contains("line 2: arch_str"), "\(error)")
            XCTAssertTrue("\(error)".contains("'zero' at position 40"), "\(error)")
        }
        let short = header + "\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,000000,#" + String(repeating: ",1", count: 14) + "\n"
        XCTAssertThrowsError(try NB201Table(csv: Data(short.utf8))) { error in
            XCTAssertEqual(error as? NB201TableError, .wrongRowCount(path: "<memory>", found: 1))
        }
    }

    func testPathResolutionPrefersTheFlagOverTheEnvironmentOverTheEmbeddedTable() throws {
        XCTAssertEqual(NB201Table.resolvePath(explicit: "a.csv", environment: ["SWIFTNAS_NB201": "b.csv"]), "a.csv")
        XCTAssertEqual(NB201Table.resolvePath(explicit: nil, environment: ["SWIFTNAS_NB201": "b.csv"]), "b.csv")
        XCTAssertNil(NB201Table.resolvePath(explicit: nil, environment: [:]))
        XCTAssertNil(NB201Table.resolvePath(explicit: "", environment: ["SWIFTNAS_NB201": ""]))
        let table = try NB201Table.load(explicit: nil, environment: [:])
        XCTAssertTrue(table.path.hasSuffix("nasbench201-compact.csv.gz"), table.path)
        XCTAssertThrowsError(try NB201Table.load(explicit: "/nonexistent/x.csv", environment: [:])) { error in
            XCTAssertEqual(error as? NB201TableError, .fileNotFound(path: "/nonexistent/x.csv"))
        }
    }

    /// The compact layout (no `arch_str`) and the full one parse to the same table; a written-out
    /// full CSV of the embedded table, gzipped or not, reads back identically.
    func testCompactAndFullLayoutsAgree() throws {
        let table = try SharedTable.require()
        var full = NB201Column.header.joined(separator: ",") + "\n"
        for (i, cell) in table.cells.enumerated() {
            let values = NB201Column.allCases.map { c -> String in
                let v = table.column(c)[i]
                return v.isNaN ? "" : "\(v)"
            }
            full += "\(i),\(cell),\(cell.opCodes),\(table.uniqueStrings[i]),\(values.joined(separator: ","))\n"
        }
        let reread = try NB201Table(csv: Data(full.utf8))
        XCTAssertEqual(reread.cells, table.cells)
        XCTAssertEqual(reread.uniqueStrings, table.uniqueStrings)
        for c in NB201Column.allCases {
            XCTAssertEqual(reread.column(c).map(\.bitPattern), table.column(c).map(\.bitPattern), c.rawValue)
        }
    }

    func testNonFiniteValuesAndLongFieldsAreRefusedBriefly() throws {
        let header = NB201Column.compactHeader.joined(separator: ",")
        let inf = header + "\n0,000000,#,inf" + String(repeating: ",1", count: 13) + "\n"
        XCTAssertThrowsError(try NB201Table(csv: Data(inf.utf8))) { error in
            XCTAssertEqual("\(error)", "<memory>, line 2: nats_c10_test_200 is 'inf', not a finite number")
        }
        let garbage = header + "\n0,000000,#," + String(repeating: "x", count: 100_000) + String(repeating: ",1", count: 13)
        XCTAssertThrowsError(try NB201Table(csv: Data(garbage.utf8))) { error in
            XCTAssertLessThan("\(error)".count, 200)
        }
        let badCodes = header + "\n0,000009,#" + String(repeating: ",1", count: 14) + "\n"
        XCTAssertThrowsError(try NB201Table(csv: Data(badCodes.utf8))) { error in
            XCTAssertEqual("\(error)", "<memory>, line 2: op_codes '000009' is not six digits 0-4")
        }
    }
}
