import Foundation
import NASData
import XCTest

/// PNG files written by `scripts/make_png_fixtures.py` with Python's zlib (an encoder other
/// than libpng): gray 8-bit with a Sub-filtered row, RGB, 16-bit gray and a palette image.
private let pngFixtures: [String: String] = [
    "gray8": "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAAAAAC4HznGAAAAEElEQVR4nGNgaPjPyMXFBQAIQwGfsoMUBQAAAABJRU5ErkJggg==",
    "rgb8": "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFUlEQVR4nGP4z8DA8J+BEUgwMrEAABoGAwba0guxAAAAAElFTkSuQmCC",
    "gray16": "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABEAAAAACB2fwVAAAADUlEQVR4nGNgYPj/HwADAgH/5ncLrgAAAABJRU5ErkJggg==",
    "palette": "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAMAAADD/I+4AAAABlBMVEUAAAD///+l2Z/dAAAAC0lEQVR4nGNgZAAAAAUAAtFmM3gAAAAASUVORK5CYII=",
]

private func fixture(_ name: String) throws -> Data { try XCTUnwrap(Data(base64Encoded: pngFixtures[name] ?? "")) }

final class SegmentationDataTests: XCTestCase {
    func testPNGDecodesEveryKindOfFile() throws {
        let gray = try PNGImage.decode(fixture("gray8"), name: "gray8")
        XCTAssertEqual([gray.width, gray.height, gray.channels], [3, 2, 1])
        XCTAssertEqual(gray.pixels, [0, 128, 255, 10, 20, 30])
        let rgb = try PNGImage.decode(fixture("rgb8"), name: "rgb8", channels: 3)
        XCTAssertEqual(rgb.pixels, [255, 0, 0, 0, 255, 0, 0, 0, 255, 1, 2, 3])
        XCTAssertEqual(try PNGImage.decode(fixture("gray16"), name: "gray16").pixels, [0, 255])
        XCTAssertEqual(try PNGImage.decode(fixture("palette"), name: "palette").pixels, [255, 0])
        // Gray as RGB repeats the value in each channel.
        XCTAssertEqual(try PNGImage.decode(fixture("gray8"), name: "gray8", channels: 3).pixels.prefix(6), [0, 0, 0, 128, 128, 128])
    }

    func testPNGRoundTripsAndRefusesBadBytes() throws {
        for channels in [1, 3] {
            let image = try PNGImage(width: 7, height: 5, channels: channels,
                                     pixels: (0..<(35 * channels)).map { UInt8(($0 * 37 + 11) % 256) })
            XCTAssertEqual(try PNGImage.decode(image.encoded(), name: "round trip", channels: channels), image)
        }
        let good = try fixture("gray8")
        let cases: [(String, Data)] = [
            ("empty", Data()),
            ("not a PNG", Data("hello, this is text".utf8)),
            ("truncated", good.prefix(good.count / 2)),
            ("bad CRC", { var d = good; d[d.count - 20] ^= 0xFF; return d }()),
        ]
        for (name, data) in cases {
            XCTAssertThrowsError(try PNGImage.decode(data, name: name), name) { error in
                XCTAssertTrue("\(error)".hasPrefix("\(name):"), "\(error)")
            }
        }
        XCTAssertThrowsError(try PNGImage(width: 2, height: 2, channels: 2, pixels: [0, 0, 0, 0, 0, 0, 0, 0]))
        XCTAssertThrowsError(try PNGImage(width: 2, height: 2, channels: 1, pixels: [0]))
    }

    /// A folder of images and one of masks with the same names, as ISBI 2012 ships them.
    private func writeSet(_ root: URL, sizes: [String: (Int, Int)], masks: Set<String>) throws {
        let im = root.appendingPathComponent("image"), ma = root.appendingPathComponent("label")
        try FileManager.default.createDirectory(at: im, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: ma, withIntermediateDirectories: true)
        for (name, (w, h)) in sizes {
            let stem = UInt8(Int(name.dropLast(4)) ?? 0)
            try PNGImage(width: w, height: h, channels: 1, pixels: (0..<(w * h)).map { UInt8(($0 * 7 + Int(stem)) % 256) })
                .encoded().write(to: im.appendingPathComponent(name))
            if masks.contains(name) {
                try PNGImage(width: w, height: h, channels: 1, pixels: (0..<(w * h)).map { $0 % 3 == 0 ? 255 : 0 })
                    .encoded().write(to: ma.appendingPathComponent(name))
            }
        }
    }

    func testSegmentationSetLoadsPairsInNumericOrderAndFolds() throws {
        let root = try temporaryFolder("seg")
        defer { try? FileManager.default.removeItem(at: root) }
        let names = ["0.png", "1.png", "2.png", "10.png", "11.png"]
        try writeSet(root, sizes: Dictionary(uniqueKeysWithValues: names.map { ($0, (4, 3)) }), masks: Set(names))
        let set = try SegmentationSet.load(imageFolder: root.appendingPathComponent("image"), maskFolder: root.appendingPathComponent("label"))
        XCTAssertEqual(set.names, names)
        XCTAssertEqual([set.height, set.width, set.count], [3, 4, 5])
        XCTAssertEqual(set.images[3 * 12], Float(10) / 255, accuracy: 1e-7)   // the fourth image is 10.png; its pixel 0
        XCTAssertEqual(Array(set.masks[0..<4]), [1, 0, 0, 1])
        let inverted = try SegmentationSet.load(imageFolder: root.appendingPathComponent("image"),
                                                maskFolder: root.appendingPathComponent("label"), invertMasks: true)
        XCTAssertEqual(Array(inverted.masks[0..<4]), [0, 1, 1, 0])

        // Contiguous folds: each image held out exactly once, never in its own training part.
        var heldOut: [String] = []
        for f in 0..<2 {
            let (train, held) = try set.fold(f, of: 2)
            XCTAssertTrue(Set(train.names).isDisjoint(with: held.names))
            XCTAssertEqual(train.count + held.count, 5)
            heldOut += held.names
        }
        XCTAssertEqual(heldOut, names)
        XCTAssertEqual(try set.fold(1, of: 2).heldOut.images, Array(set.images[(2 * 12)...]))
        XCTAssertThrowsError(try set.fold(0, of: 1))
        XCTAssertThrowsError(try set.fold(2, of: 2))
        XCTAssertThrowsError(try set.fold(0, of: 6))
    }

    func testSegmentationSetRefusesMissingMasksAndMixedSizes() throws {
        let root = try temporaryFolder("seg-bad")
        defer { try? FileManager.default.removeItem(at: root) }
        try writeSet(root, sizes: ["0.png": (4, 3), "1.png": (4, 3)], masks: ["0.png"])
        XCTAssertThrowsError(try SegmentationSet.load(imageFolder: root.appendingPathComponent("image"),
                                                      maskFolder: root.appendingPathComponent("label"))) { error in
            XCTAssertTrue("\(error)".contains("label/1.png: missing"), "\(error)")
        }
        let other = try temporaryFolder("seg-sizes")
        defer { try? FileManager.default.removeItem(at: other) }
        try writeSet(other, sizes: ["0.png": (4, 3), "1.png": (5, 3)], masks: ["0.png", "1.png"])
        XCTAssertThrowsError(try SegmentationSet.load(imageFolder: other.appendingPathComponent("image"),
                                                      maskFolder: other.appendingPathComponent("label"))) { error in
            XCTAssertTrue("\(error)".contains("all images need one size"), "\(error)")
        }
        XCTAssertThrowsError(try SegmentationSet.load(imageFolder: other.appendingPathComponent("nowhere"),
                                                      maskFolder: other.appendingPathComponent("label")))
    }

    func testTilesCoverThePlaneAndStitchBack() throws {
        let (h, w) = (13, 10)
        let plane = (0..<(h * w)).map { Float($0) }
        for (tile, overlap) in [(4, 1), (5, 0), (10, 3), (3, 2)] {
            let tiling = try Tiling(height: h, width: w, tile: tile, overlap: overlap)
            var covered = [Bool](repeating: false, count: h * w)
            for (r, c) in tiling.origins {
                XCTAssertTrue(r + tile <= h && c + tile <= w, "tile inside the plane")
                for y in 0..<tile { for x in 0..<tile { covered[(r + y) * w + c + x] = true } }
            }
            XCTAssertTrue(covered.allSatisfy { $0 }, "tile \(tile), overlap \(overlap) covers every pixel")
            let tiles = tiling.tiles(of: plane[...])
            XCTAssertEqual(tiles.count, tiling.origins.count * tile * tile)
            XCTAssertEqual(tiling.stitch(tiles), plane, "stitching the tiles of a plane gives the plane")
        }
        // Overlapping predictions are averaged.
        let two = try Tiling(height: 1, width: 3, tile: 1, overlap: 0)
        XCTAssertEqual(two.origins.count, 3)
        let pair = try Tiling(height: 2, width: 3, tile: 2, overlap: 1)
        XCTAssertEqual(pair.stitch([Float](repeating: 0, count: 4) + [Float](repeating: 1, count: 4)), [0, 0.5, 1, 0, 0.5, 1])
        XCTAssertThrowsError(try Tiling(height: 4, width: 4, tile: 5, overlap: 0))
        XCTAssertThrowsError(try Tiling(height: 4, width: 4, tile: 2, overlap: 2))
    }

    func testDihedralTransformsAreTheSquaresEightSymmetries() {
        let tile: [Float] = [1, 2, 3, 4]   // [[1, 2], [3, 4]]
        XCTAssertEqual(Dihedral.rotate90.apply(tile[...], side: 2), [2, 4, 1, 3])     // a quarter turn counter-clockwise
        XCTAssertEqual(Dihedral.flip.apply(tile[...], side: 2), [2, 1, 4, 3])
        let big = (0..<9).map { Float($0) }
        let all = Dihedral.allCases.map { $0.apply(big[...], side: 3) }
        XCTAssertEqual(Set(all.map { $0.map(Int.init) }).count, 8, "eight different images")
        var turned = big
        for _ in 0..<4 { turned = Dihedral.rotate90.apply(turned[...], side: 3) }
        XCTAssertEqual(turned, big, "four quarter turns are the identity")
        XCTAssertEqual(Dihedral.rotate180.apply(big[...], side: 3), big.reversed())
    }

    func testDiceAndIoU() {
        let p: [Float] = [1, 1, 0, 0, 1], t: [Float] = [1, 0, 0, 1, 1]
        XCTAssertEqual(SegmentationMetrics.dice(p, t), 2.0 * 2 / 6, accuracy: 1e-12)
        XCTAssertEqual(SegmentationMetrics.iou(p, t), 2.0 / 4, accuracy: 1e-12)
        XCTAssertEqual(SegmentationMetrics.dice([0, 0], [0, 0]), 1)
        XCTAssertEqual(SegmentationMetrics.iou([0.9, 0.2], [1, 0]), 1)
        XCTAssertEqual(SegmentationMetrics.dice([1, 1], [0, 0]), 0)
    }
}
