import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor
@testable import NASWeightSharing
import XCTest

/// GLiT's space and search: the supernet's single path is the stand-alone network, the counts
/// are the networks', the notation round-trips, and the hierarchical search is deterministic,
/// resumes after a kill, keeps its parameter bounds and fixes level one's split in level two.
final class GLiTTests: XCTestCase {
    static var tiny: GLiTSpaceConfig {
        var c = GLiTSpaceConfig()
        (c.height, c.width, c.channels, c.classes, c.patch, c.dim, c.depth, c.heads) = (8, 8, 1, 3, 4, 8, 2, 2)
        (c.headDims, c.kernels, c.expansions, c.mlpRatios) = ([2, 4], [1, 3], [1, 2], [1, 2])
        return c
    }

    func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.array, b.array).map { Swift.abs($0 - $1) }.max() ?? .infinity
    }

    /// Paths with all-global, all-local and mixed blocks, in training mode (batch statistics)
    /// and evaluation mode (running statistics), and the analytic weight count.
    func testSinglePathEqualsTheStandAloneNetwork() throws {
        let net = GLiTSupernet(config: Self.tiny, seed: 1)
        var rng = SeededGenerator(seed: 2)
        let x = Tensor.normal([4, 8, 8, 1], using: &rng)
        // Running statistics away from their initial values.
        net.train()
        for _ in 0..<3 { _ = withoutGrad { net(x, mode: .path(net.space.uniform(mask: net.mask, using: &rng))) } }
        var paths = (0..<6).map { _ in net.space.uniform(mask: net.mask, using: &rng) }
        paths.append(ArchitectureChoices(net.space.decisions.indices.map { $0 % 5 == 0 ? [0] : [1] }))   // all local, largest
        paths.append(ArchitectureChoices(net.space.decisions.indices.map { $0 % 5 == 0 ? [2] : [0] }))   // all global, smallest
        for a in paths {
            let alone = try net.instantiate(a)
            XCTAssertEqual(alone.parameterCount, net.architecture(a).parameterCount(Self.tiny), net.describe(a))
            XCTAssertEqual(alone.parameterCount, net.pathParameterCount(a))
            for training in [false, true] {
                net.train(training); alone.train(training)
                let y = withoutGrad { net(x, mode: .path(a)) }, z = withoutGrad { alone(x) }
                XCTAssertLessThan(maxDifference(y, z), 1e-5, "\(net.describe(a)) training \(training)")
            }
        }
        // Different paths compute different functions (the choices matter).
        net.eval()
        XCTAssertGreaterThan(maxDifference(withoutGrad { net(x, mode: .path(paths[6])) }, withoutGrad { net(x, mode: .path(paths[7])) }), 1e-3)
    }

    /// The plain ViT written in GLiT's notation has the weights of the `VisionTransformer` of
    /// the same settings (the baseline's size is counted by the same formula).
    func testPlainViTCountMatchesVisionTransformer() {
        var v = ViTConfig(height: 28, width: 28, channels: 1, classes: 10)
        (v.patch, v.dim, v.depth, v.heads, v.mlpRatio) = (7, 64, 4, 4, 4)
        var rng = SeededGenerator(seed: 0)
        var c = GLiTSpaceConfig()
        (c.patch, c.dim, c.depth, c.heads) = (7, 64, 4, 4)
        let plain = GLiTArchitecture.plainViT(patch: 7, dim: 64, depth: 4, heads: 4, mlpRatio: 4)
        XCTAssertEqual(plain.parameterCount(c), VisionTransformer(v, using: &rng).parameterCount)
        // Multiply-adds of one block: q/k/v 3·T·D², attention 2·T²·D, projection T·D², MLP 8·T·D² (T = 17 tokens).
        let t = 17, d = 64
        let block = 3 * t * d * d + 2 * t * t * d + t * d * d + 8 * t * d * d
        XCTAssertEqual(plain.multiplyAccumulates(c), 4 * block + 16 * 49 * d + d * 10)
    }

    func testNotationRoundTripsAndBadStringsNameTheField() throws {
        let space = GLiTSearchSpace(config: Self.tiny)
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<20 {
            let a = space.sample(using: &rng)
            XCTAssertEqual(try space.parse(space.describe(a)), a)
            XCTAssertNotEqual(space.mutate(a, using: &rng), a)
            XCTAssertEqual(space.encode(a, as: .oneHot).reduce(0, +), Float(a.choices.count))
        }
        let text = "glit(patch=4,dim=8)[g1l1-d4-k3-e2-m1|g0l2-d2-k1-e1-m2]"
        XCTAssertEqual(try GLiTArchitecture(parsing: text).description, text)
        for (bad, mentions) in [("glit(patch=4)[g1l1-d4-k3-e2-m1]", "needs patch= and dim="),
                                ("glit(patch=4,dim=8)[g1l1-d4-k3-e2]", "must read g<global>"),
                                ("glit(patch=4,dim=8)[g1l1-x4-k3-e2-m1|g0l2-d2-k1-e1-m2]", "head dim must be 'd<number>'"),
                                ("glit(patch=4,dim=8,depth=3)[g1l1-d4-k3-e2-m1]", "unknown setting 'depth'"),
                                ("glit(patch=4,dim=8)[g1l1-d8-k3-e2-m1|g0l2-d2-k1-e1-m2]", "head dim 8 not among [2, 4]")] {
            XCTAssertThrowsError(try space.parse(bad), bad) { XCTAssertTrue("\($0)".contains(mentions), "\(bad): \($0)") }
        }
    }

    static var config: WeightSharingConfig {
        var c = TestData.config
        (c.patch, c.embedDim, c.depth, c.heads) = (4, 8, 2, 2)
        c.weightOptimizer = "adamw"; c.weightLearningRate = 3e-3; c.weightDecay = 0.01
        c.population = 6; c.parents = 3; c.generations = 2; c.mutationProbability = 0.3
        return c
    }

    func search(_ c: WeightSharingConfig, method: WeightSharingMethod = .glit, seed: UInt64 = 5, checkpoint: URL? = nil,
                stopAfter: Int? = nil, log: ((String) -> Void)? = nil) throws -> WeightSharingResult {
        let s = try WeightSharingSearch(method: method, space: .glit, config: c, seed: seed, data: TestData.supernetData, checkpoint: checkpoint)
        s.stopAfterEpochs = stopAfter
        s.log = log
        return try s.run()
    }

    func testHierarchicalSearchIsDeterministicAndKeepsLevelOnesSplit() throws {
        var lines: [String] = []
        let a = try search(Self.config) { lines.append($0) }
        let b = try search(Self.config)
        XCTAssertEqual(a.description, b.description)
        XCTAssertEqual(a.score, b.score)
        let levelOne = try XCTUnwrap(lines.first { $0.hasPrefix("glit level 1") })
        let split = try XCTUnwrap(levelOne.split(separator: " ").first { $0.hasPrefix("glit(") })
        let first = try GLiTArchitecture(parsing: String(split)), found = try GLiTArchitecture(parsing: a.description)
        XCTAssertEqual(first.blocks.map(\.globalHeads), found.blocks.map(\.globalHeads), "level two keeps level one's split")
        // Level one scored its splits at the largest dimensions.
        XCTAssertTrue(first.blocks.allSatisfy { $0.headDim == 24 && $0.kernel == 7 && $0.expansion == 2 && $0.mlpRatio == 4 }, "\(first)")
        // SPOS's flat evolution runs on the same space.
        XCTAssertNoThrow(try search(Self.config, method: .spos))
    }

    func testParameterBoundsAreKept() throws {
        var c = Self.config
        let space = GLiTSupernet(config: SupernetSpace.glitConfig(c, imageSize: 8, inputChannels: 1, classes: 3), seed: 0)
        var rng = SeededGenerator(seed: 9)
        let counts = (0..<200).compactMap { _ in space.pathParameterCount(space.space.uniform(mask: space.mask, using: &rng)) }.sorted()
        (c.minParameters, c.maxParameters) = (counts[40], counts[80])
        let result = try search(c)
        let n = try XCTUnwrap(space.pathParameterCount(result.architecture))
        XCTAssertTrue((counts[40]...counts[80]).contains(n), "\(n) outside \(counts[40])…\(counts[80])")
        (c.minParameters, c.maxParameters) = (1, 2)
        XCTAssertThrowsError(try search(c)) { XCTAssertTrue("\($0)".contains("min_parameters"), "\($0)") }
        // Bounds on a space that does not count its paths are refused.
        var nb = TestData.config
        nb.maxParameters = 1000
        XCTAssertThrowsError(try WeightSharingSearch(method: .spos, config: nb, seed: 1, data: TestData.supernetData))
    }

    func testKilledSearchResumesToTheSameResult() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("glit-resume-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let full = try search(Self.config, checkpoint: dir.appendingPathComponent("full.safetensors"))
        let killed = dir.appendingPathComponent("killed.safetensors")
        XCTAssertThrowsError(try search(Self.config, checkpoint: killed, stopAfter: 1)) { XCTAssertTrue($0 is SearchInterrupted) }
        let resumed = try search(Self.config, checkpoint: killed)
        XCTAssertEqual(resumed.description, full.description)
        XCTAssertEqual(resumed.score, full.score)
        XCTAssertEqual(resumed.epochsRun, full.epochsRun - 1)
    }
}
