import XCTest
import NASSpaces
import NASTensor

final class NB201SearchSpaceTests: XCTestCase {
    let space = NB201SearchSpace()

    func testNeighborsDifferOnExactlyOneEdge() {
        let cell = NB201Cell(code: 6_111)
        let neighbors = space.neighbors(of: cell)
        XCTAssertEqual(neighbors.count, 24)
        XCTAssertEqual(Set(neighbors).count, 24)
        for n in neighbors {
            XCTAssertEqual(zip(n.ops, cell.ops).filter { $0 != $1 }.count, 1)
        }
    }

    func testMutationIsANeighborAndSeeded() {
        var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7)
        var cell = space.sample(using: &a)
        XCTAssertEqual(cell, space.sample(using: &b))
        for _ in 0..<200 {
            let child = space.mutate(cell, using: &a)
            XCTAssertEqual(child, space.mutate(cell, using: &b))
            XCTAssertTrue(space.neighbors(of: cell).contains(child))
            cell = child
        }
    }

    func testSamplingCoversTheSpaceUniformly() {
        var rng = SeededGenerator(seed: 1)
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<5_000 { counts[space.sample(using: &rng)[2].rawValue] += 1 }
        // Each op should appear on an edge about 1,000 times in 5,000 draws.
        for c in counts { XCTAssertTrue((880...1_120).contains(c), "\(counts)") }
    }

    func testOneHotEncoding() {
        let cell = NB201Cell(ops: [.none, .skipConnect, .conv1x1, .conv3x3, .avgPool3x3, .none])
        let v = space.encode(cell, as: .oneHot)
        XCTAssertEqual(v.count, 30)
        XCTAssertEqual(v.reduce(0, +), 6)
        XCTAssertEqual(v[0], 1); XCTAssertEqual(v[6], 1); XCTAssertEqual(v[12], 1)
        XCTAssertEqual(v[18], 1); XCTAssertEqual(v[24], 1); XCTAssertEqual(v[25], 1)
        XCTAssertEqual(space.choices(of: cell), [0, 1, 2, 3, 4, 0])
        XCTAssertEqual(space.architecture(choices: [0, 1, 2, 3, 4, 0]), cell)
    }

    func testPathEncodingCountsOpenRoutes() {
        XCTAssertEqual(space.encodingLength(.path), 100)
        // All conv3x3: every route open, each with its all-conv3x3 label.
        let dense = NB201Cell(ops: Array(repeating: .conv3x3, count: 6))
        XCTAssertEqual(dense.activePaths, [2, 4 + 2 * 4 + 2, 20 + 2 * 4 + 2, 36 + 2 * 16 + 2 * 4 + 2])
        // Edge 0 (1←0) cut: only routes 0→3 and 0→2→3 remain.
        let cut = dense.replacing(edge: 0, with: .none)
        XCTAssertEqual(cut.activePaths.count, 2)
        XCTAssertEqual(space.encode(cut, as: .path).reduce(0, +), 2)
        // No route at all: the all-`none` cell has an empty encoding.
        XCTAssertEqual(NB201Cell(code: 0).activePaths, [])
        // The encoding ignores edges no route uses: 2←1 with 3←2 cut.
        let a = NB201Cell(ops: [.conv3x3, .conv3x3, .conv1x1, .skipConnect, .conv3x3, .none])
        let b = a.replacing(edge: 2, with: .avgPool3x3)
        XCTAssertEqual(a.activePaths, b.activePaths)
    }
}
