import Foundation
import XCTest
import NASSpaces
import NASBench
import NASTensor

final class NB201CellTests: XCTestCase {
    /// Only the exact digit NAS-Bench-201 writes is an input index: `~00`, `~+0` and `~ 0` are refused.
    func testInputIndexMustBeWrittenExactly() {
        for bad in ["|none~00|+|none~0|none~1|+|none~0|none~1|none~2|", "|none~+0|+|none~0|none~1|+|none~0|none~1|none~2|",
                    "|none~0|+|none~0|none~01|+|none~0|none~1|none~2|"] {
            XCTAssertThrowsError(try NB201Cell(parsing: bad), bad)
        }
        XCTAssertNoThrow(try NB201Cell(parsing: "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"))
    }

    let optimum = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"

    func testParseAndDescribeTheOptimum() throws {
        let cell = try NB201Cell(parsing: optimum)
        XCTAssertEqual(cell.ops, [.conv3x3, .conv3x3, .conv3x3, .skipConnect, .conv3x3, .conv1x1])
        XCTAssertEqual(cell.opCodes, "333132")
        XCTAssertEqual(cell.description, optimum)
    }

    func testEveryTableStringRoundTripsAndMatchesOpCodes() throws {
        let table = try SharedTable.require()
        XCTAssertEqual(table.count, 15_625)
        var seen = Set<NB201Cell>()
        for cell in table.cells {
            let s = cell.description
            let back = try NB201Cell(parsing: s)
            XCTAssertEqual(back, cell)
            XCTAssertEqual(back.description, s)
            seen.insert(cell)
        }
        XCTAssertEqual(seen.count, 15_625)
        XCTAssertEqual(Set(NB201SearchSpace().allArchitectures()), seen)
    }

    func testIsomorphismKeyReproducesTheTablePartition() throws {
        let table = try SharedTable.require()
        var classes = Set<String>()
        for (i, cell) in table.cells.enumerated() {
            let key = cell.isomorphismKey
            // Same string as NATS-Bench, hence the same partition.
            XCTAssertEqual(key, table.uniqueStrings[i], "arch \(i) \(cell)")
            classes.insert(key)
        }
        XCTAssertEqual(classes.count, 6_466)
    }

    func testParseErrorsNameTokenAndPosition() {
        func error(_ s: String) -> NB201ParseError? {
            do { _ = try NB201Cell(parsing: s); return nil } catch { return error as? NB201ParseError }
        }
        let badOp = error("|nor_conv_3x3~0|+|conv_5x5~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
        XCTAssertEqual(badOp?.reason, .unknownOperation)
        XCTAssertEqual(badOp?.token, "conv_5x5")
        XCTAssertEqual(badOp?.position, 18)
        XCTAssertTrue(badOp?.description.contains("'conv_5x5' at position 18") ?? false)

        let badInput = error("|nor_conv_3x3~0|+|nor_conv_3x3~1|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
        XCTAssertEqual(badInput?.reason, .wrongInputIndex(expected: 0))
        XCTAssertEqual(badInput?.token, "~1")
        XCTAssertEqual(badInput?.position, 30)

        let noTilde = error("|nor_conv_3x3|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
        XCTAssertEqual(noTilde?.reason, .missingInputIndex)
        XCTAssertEqual(noTilde?.token, "nor_conv_3x3")
        XCTAssertEqual(noTilde?.position, 1)

        let shortNode = error("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
        XCTAssertEqual(shortNode?.reason, .tooFewEdges(node: 2))
        XCTAssertEqual(shortNode?.position, 33)

        let longNode = error("|nor_conv_3x3~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
        XCTAssertEqual(longNode?.reason, .tooManyEdges(node: 1))
        XCTAssertEqual(longNode?.token, "none~1")

        let trailing = error(optimum + "+|none~0|")
        XCTAssertEqual(trailing?.reason, .trailingText)
        XCTAssertEqual(trailing?.position, optimum.count)

        let missingPlus = error("|nor_conv_3x3~0|")
        XCTAssertEqual(missingPlus?.reason, .expectedDelimiter("+"))
        XCTAssertEqual(missingPlus?.token, "<end of string>")

        XCTAssertEqual(error("")?.reason, .empty)
    }

    func testCodableUsesTheNB201String() throws {
        let cell = try NB201Cell(parsing: optimum)
        let json = try JSONEncoder().encode([cell])
        XCTAssertEqual(String(decoding: json, as: UTF8.self), "[\"\(optimum)\"]")
        XCTAssertEqual(try JSONDecoder().decode([NB201Cell].self, from: json), [cell])
        XCTAssertThrowsError(try JSONDecoder().decode([NB201Cell].self, from: Data("[\"|x~0|\"]".utf8)))
    }
}
