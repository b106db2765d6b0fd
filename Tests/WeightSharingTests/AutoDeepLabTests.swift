import Foundation
import NASData
import NASNN
@testable import NASSpaces
import NASTensor
@testable import NASWeightSharing
import XCTest

final class AutoDeepLabTests: XCTestCase {
    /// A hand-made trellis where the greedy choice (level 0 first, 0.6) loses to the path through
    /// level 1 (0.4 · 0.9 · 0.9 = 0.324 against 0.6 · 0.5 · 0.5 = 0.15 at best through level 0).
    func testViterbiFindsTheMostProbablePathNotTheGreedyOne() {
        let t: [[[Double]]] = [
            [[0.6, 0.4, 0], [0, 0, 0], [0, 0, 0]],
            [[0.5, 0.5, 0], [0.05, 0.05, 0.9], [0, 0, 0]],
            [[0.5, 0.5, 0], [0.3, 0.3, 0.4], [0, 0.1, 0.9]],
        ]
        XCTAssertEqual(AutoDeepLabDecoding.viterbi(t, levels: 3), [1, 2, 2])
        // Make the first step to level 1 unlikely and level 0 wins (0.9 · 0.5 · 0.5; a tie at the end goes to the lower level).
        var u = t
        u[0][0] = [0.9, 0.1, 0]
        XCTAssertEqual(AutoDeepLabDecoding.viterbi(u, levels: 3), [0, 0, 0])
    }

    func testTopTwoKeepsTheStrongestNonZeroEdgesPerBlock() {
        var c = AutoDeepLabConfig()
        (c.blocks, c.operations) = (2, ["none", "skip_connect", "sep_conv_3x3"])
        // Edges: block 0 ← inputs 0, 1; block 1 ← inputs 0, 1, 2.
        let w: [[Double]] = [[0.9, 0.05, 0.05], [0.2, 0.1, 0.7], [0.1, 0.6, 0.3], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]]
        let cell = AutoDeepLabDecoding.topTwo(w, config: c)
        XCTAssertEqual(cell.map { $0.map { "\($0.operation)~\($0.input)" } },
                       [["sep_conv_3x3~1", "skip_connect~0"], ["skip_connect~0", "sep_conv_3x3~2"]])   // a tie (0.6) goes to the lower input
    }

    func testNotationAndTrellisChecks() throws {
        let text = "adl[path=0-1-2-2|sep_conv_3x3~0+skip_connect~1|dil_conv_3x3~2+sep_conv_3x3~0|avg_pool_3x3~3+skip_connect~1]"
        let a = try AutoDeepLabArchitecture(parsing: text)
        XCTAssertEqual(a.description, text)
        try a.check(against: AutoDeepLabConfig())
        for (bad, mentions) in [("adl[path=0-1|none~0]", "unknown operation"), ("adl[path=0-x|skip_connect~0]", "path"),
                                ("adl[path=0|skip_connect~5]", "input 0…1"), ("deeplab", "expected")] {
            XCTAssertThrowsError(try AutoDeepLabArchitecture(parsing: bad), bad) { XCTAssertTrue("\($0)".contains(mentions), "\(bad): \($0)") }
        }
        let jump = try AutoDeepLabArchitecture(parsing: "adl[path=0-2-2-2|skip_connect~0|skip_connect~0|skip_connect~0]")
        XCTAssertThrowsError(try jump.check(against: AutoDeepLabConfig())) { XCTAssertTrue("\($0)".contains("layer 1"), "\($0)") }
    }

    func testSupernetAndDerivedNetworksRunAndTrainTheArchitecture() throws {
        var c = AutoDeepLabConfig()
        (c.layers, c.channels, c.blocks) = (3, 4, 2)
        var rng = SeededGenerator(seed: 1)
        let x = Tensor.normal([2, 16, 16, 1], std: 1, using: &rng)
        let supernet = AutoDeepLabNetwork(config: c, seed: 0)
        let y = supernet(x)
        XCTAssertEqual(y.shape, [2, 16, 16, 1])
        y.sum().backward()
        for t in supernet.architectureParameters { XCTAssertTrue((t.grad?.array ?? []).contains { $0 != 0 }) }
        XCTAssertEqual(supernet.weightParameters.count + 2, supernet.parameters().count)
        let decoded = try XCTUnwrap(supernet.decode())
        try decoded.check(against: c)
        let derived = AutoDeepLabNetwork(config: c, architecture: decoded, seed: 0)
        XCTAssertEqual(derived(x).shape, [2, 16, 16, 1])
        XCTAssertLessThan(derived.parameterCount, supernet.parameterCount)
        // Every operation's weights are the network's parameters (trained, saved): a cell of
        // separable convolutions has more than one of skips, by the convolutions' own count.
        func network(_ op: String) throws -> AutoDeepLabNetwork {
            AutoDeepLabNetwork(config: c, architecture: try AutoDeepLabArchitecture(parsing: "adl[path=0-1-1|\(op)~0|\(op)~2]"), seed: 0)
        }
        let perSep = OperationRegistry.make("sep_conv_3x3", channels: 4, affine: true, using: &rng).parameterCount
        XCTAssertGreaterThan(perSep, 0)
        // Layer 0 at level 0 (4 channels) and layers 1–2 at level 1 (8 channels), two edges per cell.
        let perSep8 = OperationRegistry.make("sep_conv_3x3", channels: 8, affine: true, using: &rng).parameterCount
        XCTAssertEqual(try network("sep_conv_3x3").parameterCount - network("skip_connect").parameterCount, 2 * perSep + 4 * perSep8)
        // Transition probabilities: each reachable source's row sums to 1, unreachable targets get 0.
        for (l, rows) in supernet.transitionTable().enumerated() {
            for from in (l == 0 ? [0] : c.levels(at: l - 1)) {
                XCTAssertEqual(rows[from].reduce(0, +), 1, accuracy: 1e-5)
                for to in 0..<c.levels where abs(to - from) > 1 || !c.levels(at: l).contains(to) { XCTAssertEqual(rows[from][to], 0, accuracy: 1e-6) }
            }
        }
    }

    func stripes(_ count: Int, seed: UInt64) throws -> SegmentationSet {
        var rng = SeededGenerator(seed: seed)
        var images: [Float] = [], masks: [Float] = []
        for _ in 0..<count {
            let offset = Int(rng.next() % 4)
            for y in 0..<16 { for x in 0..<16 {
                let on = (x + y + offset) % 6 < 2
                images.append((on ? 0.8 : 0.2) + Float.random(in: -0.1...0.1, using: &rng))
                masks.append(on ? 1 : 0)
            }}
        }
        return try SegmentationSet(images: images, masks: masks, height: 16, width: 16, names: (0..<count).map(String.init))
    }

    /// Stopped after its first epoch and resumed from the checkpoint, the search ends with the
    /// α, β and architecture of an uninterrupted one.
    func testSearchResumesToTheSameArchitecture() throws {
        var space = AutoDeepLabConfig()
        (space.layers, space.channels, space.blocks) = (2, 4, 2)
        var config = AutoDeepLabSearchConfig()
        (config.epochs, config.warmupEpochs, config.batchSize, config.tile) = (3, 1, 4, 8)
        let (a, b) = (try stripes(4, seed: 1), try stripes(4, seed: 2))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("adl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("supernet.safetensors")
        let whole = try AutoDeepLabSearch(space: space, config: config, weightImages: a, architectureImages: b)
        let expected = try whole.run()
        struct Stop: Error {}
        let first = try AutoDeepLabSearch(space: space, config: config, weightImages: a, architectureImages: b)
        XCTAssertThrowsError(try first.run(checkpoint: checkpoint) { epoch, _, _, _ in if epoch == 2 { throw Stop() } })
        let resumed = try AutoDeepLabSearch(space: space, config: config, weightImages: a, architectureImages: b)
        XCTAssertEqual(try resumed.run(checkpoint: checkpoint), expected)
        XCTAssertEqual(resumed.supernet.alpha?.array, whole.supernet.alpha?.array)
        XCTAssertEqual(resumed.supernet.beta?.array, whole.supernet.beta?.array)
        var other = config
        other.architectureLearningRate = 1e-2
        XCTAssertThrowsError(try AutoDeepLabSearch(space: space, config: other, weightImages: a, architectureImages: b).run(checkpoint: checkpoint))
        config.tile = 12
        XCTAssertThrowsError(try AutoDeepLabSearch(space: space, config: config, weightImages: a, architectureImages: b))
    }
}
