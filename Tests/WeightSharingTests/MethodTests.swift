import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor
@testable import NASWeightSharing
import XCTest

/// Test-scale data: 8×8 single-channel images of three classes (a bright 3×3 blob whose position
/// is the class) plus seeded noise.
enum TestData {
    static func make(count: Int, seed: UInt64) -> Dataset {
        var rng = SeededGenerator(seed: seed)
        var images: [Float] = [], labels: [Int] = []
        for _ in 0..<count {
            let c = Int(rng.next() % 3)
            var img = (0..<64).map { _ in 0.3 * rng.nextNormal() }
            let (y0, x0) = [(0, 0), (0, 5), (5, 2)][c]
            for y in y0..<(y0 + 3) { for x in x0..<(x0 + 3) { img[y * 8 + x] += 1.5 } }
            images += img; labels.append(c)
        }
        return Dataset(images: images, labels: labels, height: 8, width: 8, channels: 1, classCount: 3)
    }

    static var supernetData: SupernetData {
        SupernetData(weightHalf: make(count: 96, seed: 1), archHalf: make(count: 96, seed: 2))
    }

    /// The test-scale setting (see docs/weight_sharing.md): C=4, N=1, 8×8, 96+96 images, two epochs.
    static var config: WeightSharingConfig {
        var c = WeightSharingConfig()
        c.channels = 4; c.cellsPerStage = 1; c.trainImages = 192; c.batchSize = 16; c.epochs = 2
        c.fewShotEpochs = 1; c.population = 4; c.generations = 1; c.parents = 2; c.calibrationBatches = 1
        c.evaluationImages = 32; c.anglePopulation = 8; c.angleGenerations = 2
        return c
    }
}

final class MethodTests: XCTestCase {
    func run(_ method: WeightSharingMethod, seed: UInt64, checkpoint: URL? = nil, stopAfter: Int? = nil) throws -> WeightSharingResult {
        let s = try WeightSharingSearch(method: method, config: TestData.config, seed: seed, data: TestData.supernetData,
                                        checkpoint: checkpoint)
        s.stopAfterEpochs = stopAfter
        return try s.run()
    }

    func testEveryMethodYieldsAValidCellDeterministically() throws {
        for method in WeightSharingMethod.allCases where method != .glit {   // GLiT has its own space: GLiTTests
            let a = try run(method, seed: 3), b = try run(method, seed: 3)
            XCTAssertEqual(a.cell, b.cell, "\(method) is not deterministic")
            XCTAssertEqual(a.score, b.score, "\(method) score is not deterministic")
            XCTAssertEqual(try NB201Cell(parsing: a.cell.description), a.cell, "\(method) gave an invalid cell")
            XCTAssertTrue(a.score.isFinite)
            XCTAssertGreaterThan(a.epochsRun, 0)
        }
    }

    /// Every method runs unchanged on DARTS's space (no method knows a space's op count) and
    /// ends with a genotype that prints verbatim and parses back to the same architecture.
    func testEveryMethodRunsOnTheDARTSSpace() throws {
        var c = TestData.config
        c.layers = 3; c.epochs = 1; c.population = 3; c.anglePopulation = 4; c.angleGenerations = 1; c.evaluationImages = 16
        let data = SupernetData(weightHalf: TestData.make(count: 32, seed: 1), archHalf: TestData.make(count: 32, seed: 2))
        for method in WeightSharingMethod.allCases where method != .glit {   // GLiT has its own space: GLiTTests
            let search = { try WeightSharingSearch(method: method, space: .darts, config: c, seed: 5, data: data, checkpoint: nil) }
            let r = try search().run()
            let genotype = try DARTSGenotype(parsing: r.description)
            XCTAssertEqual(DARTSSpace.architecture(genotype), r.architecture, "\(method): \(r.description)")
            XCTAssertTrue(DARTSSpace.space.allows(r.architecture, mask: DARTSSpace.space.fullMask), "\(method)")
            XCTAssertTrue(r.score.isFinite, "\(method)")
            if method == .darts || method == .spos {
                let again = try search().run()
                XCTAssertEqual(again.architecture, r.architecture, "\(method) is not deterministic")
                XCTAssertEqual(again.score, r.score, "\(method) is not deterministic")
            }
        }
        // A split decision beyond the space's 28 is refused before any training.
        c.splitEdge = 28
        XCTAssertThrowsError(try WeightSharingSearch(method: .fewshotDarts, space: .darts, config: c, seed: 5,
                                                     data: data, checkpoint: nil).run())
    }

    /// On DARTS's space too, a search killed after an epoch resumes from its checkpoint to the
    /// uninterrupted genotype, score and checkpoint, bit for bit.
    func testDARTSSpaceSearchResumesAfterKill() throws {
        var c = TestData.config
        c.layers = 3; c.epochs = 2; c.population = 3; c.evaluationImages = 16
        let data = SupernetData(weightHalf: TestData.make(count: 32, seed: 1), archHalf: TestData.make(count: 32, seed: 2))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-darts-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for method in [WeightSharingMethod.darts, .spos] {
            func search(_ file: String, stopAfter: Int? = nil) throws -> WeightSharingResult {
                let s = try WeightSharingSearch(method: method, space: .darts, config: c, seed: 7, data: data,
                                                checkpoint: dir.appendingPathComponent(file))
                s.stopAfterEpochs = stopAfter
                return try s.run()
            }
            let reference = try search("\(method.rawValue)-full.safetensors")
            XCTAssertThrowsError(try search("\(method.rawValue)-killed.safetensors", stopAfter: 1)) { XCTAssertTrue($0 is SearchInterrupted) }
            let resumed = try search("\(method.rawValue)-killed.safetensors")
            XCTAssertEqual(resumed.description, reference.description, "\(method)")
            XCTAssertEqual(resumed.score, reference.score, "\(method)")
            XCTAssertEqual(resumed.epochsRun, reference.epochsRun - 1, "\(method)")
            let (a, _) = try Safetensors.read(dir.appendingPathComponent("\(method.rawValue)-full.safetensors"))
            let (b, _) = try Safetensors.read(dir.appendingPathComponent("\(method.rawValue)-killed.safetensors"))
            XCTAssertEqual(Set(a.keys), Set(b.keys))
            for (k, t) in a { XCTAssertEqual(t.array, b[k]?.array, "\(method): \(k)") }
        }
    }

    func testResumeAfterKillEndsWithTheSameResult() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-resume-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        for method in [WeightSharingMethod.darts, .fewshotSpos, .mdenas] {
            let full = dir.appendingPathComponent("\(method.rawValue)-full.safetensors")
            let killed = dir.appendingPathComponent("\(method.rawValue)-killed.safetensors")
            let reference = try run(method, seed: 11, checkpoint: full)
            // Killed after its first epoch (the checkpoint of that epoch is on disk) …
            XCTAssertThrowsError(try run(method, seed: 11, checkpoint: killed, stopAfter: 1)) { XCTAssertTrue($0 is SearchInterrupted) }
            // … a second "process" runs the remaining epochs only.
            let resumed = try run(method, seed: 11, checkpoint: killed)
            XCTAssertEqual(resumed.cell, reference.cell, "\(method)")
            XCTAssertEqual(resumed.score, reference.score, "\(method)")
            XCTAssertEqual(resumed.epochsRun, reference.epochsRun - 1, "\(method)")
            // Every tensor of the final checkpoints (weights, α, optimizer states, method state) is bit-identical.
            let (a, ma) = try Safetensors.read(full), (b, mb) = try Safetensors.read(killed)
            XCTAssertEqual(ma["progress"], mb["progress"])
            XCTAssertEqual(Set(a.keys), Set(b.keys))
            for (k, t) in a { XCTAssertEqual(t.array, b[k]?.array, "\(method): \(k)") }
            // A finished search resumed again trains nothing and still ends with the cell.
            let again = try run(method, seed: 11, checkpoint: killed)
            XCTAssertEqual(again.cell, reference.cell)
            XCTAssertEqual(again.epochsRun, 0)
        }
        // A checkpoint from other settings is refused.
        let other = try WeightSharingSearch(method: .darts, config: TestData.config, seed: 12, data: TestData.supernetData,
                                            checkpoint: dir.appendingPathComponent("darts-full.safetensors"))
        XCTAssertThrowsError(try other.run()) { XCTAssertTrue($0 is WeightSharingError) }
    }

    /// The second-order hypergradient against the exact definition: central finite differences
    /// of α ↦ L_val(w − ξ ∇w L_train(w, α), α). The exact objective's derivative involves
    /// ∇w L_train, which ReLU makes discontinuous in α, so the check runs on a smooth tiny
    /// supernet: two edges, each mixing five candidate ops (zero, identity, tanh of a linear map,
    /// sigmoid of a linear map, the mean of the features) by softmax(α), then a linear classifier.
    func testSecondOrderHypergradientMatchesFiniteDifferences() {
        var rng = SeededGenerator(seed: 8)
        func randn(_ shape: [Int], _ s: Float) -> Tensor {
            Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in s * rng.nextNormal() }, requiresGrad: true)
        }
        let d = 6, classes = 3
        let opWeights = (0..<2).map { _ in (randn([d, d], 0.5), randn([d, d], 0.5)) }
        let head = randn([classes, d], 0.5)
        let params = opWeights.flatMap { [$0.0, $0.1] } + [head]
        let alpha = Tensor(shape: [2, 5], data: (0..<10).map { _ in 0.5 * rng.nextNormal() }, requiresGrad: true)
        func batch(_ n: Int) -> (Tensor, [Int]) {
            (Tensor(shape: [n, d], data: (0..<(n * d)).map { _ in rng.nextNormal() }), (0..<n).map { _ in Int(rng.next() % 3) })
        }
        let (xt, yt) = batch(12), (xv, yv) = batch(12)
        func model(_ x: Tensor, _ a: Tensor) -> Tensor {
            let w = softmax(a)
            var h = x
            for (e, (u, v)) in opWeights.enumerated() {
                let row = w.slice(axis: 0, e..<(e + 1)).reshaped([5])
                let ops = [h * 0, h, tanh(matmul(h, u, transposeB: true)), sigmoid(matmul(h, v, transposeB: true)),
                           h.mean(axes: [1], keepDims: true).expanded(to: h.shape)]
                h = (1..<5).map { ops[$0] * row.slice(axis: 0, $0..<($0 + 1)) }.reduce(ops[0], +)
            }
            return matmul(h, head, transposeB: true)
        }
        let trainLoss = { (a: Tensor) in crossEntropy(model(xt, a), targets: yt) }
        let valLoss = { (a: Tensor) in crossEntropy(model(xv, a), targets: yv) }
        // A momentum buffer and weight decay in the virtual step, as in training.
        let buffers: [Tensor?] = params.map { p in Tensor(shape: p.shape, data: (0..<p.count).map { _ in 0.1 * rng.nextNormal() }) }
        let xi: Float = 0.5, momentum: Float = 0.9, decay: Float = 3e-2
        let ours = DARTS.secondOrderGradient(parameters: params, alpha: alpha, trainLoss: trainLoss, valLoss: valLoss, xi: xi,
                                             momentum: momentum, momentumBuffers: buffers, weightDecay: decay)
        let first = DARTS.alphaGradient(params, alpha: alpha, valLoss)
        let h: Float = 1e-2
        var exact = [Float](repeating: 0, count: 10)
        for i in 0..<10 {
            let keep = alpha[flat: i]
            func f() -> Float {
                DARTS.unrolledValidationLoss(parameters: params, alpha: alpha, trainLoss: trainLoss, valLoss: valLoss, xi: xi,
                                             momentum: momentum, momentumBuffers: buffers, weightDecay: decay)
            }
            alpha[flat: i] = keep + h; let up = f()
            alpha[flat: i] = keep - h; let down = f()
            alpha[flat: i] = keep
            exact[i] = (up - down) / (2 * h)
        }
        func norm(_ v: [Float]) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        let errSecond = norm(zip(ours.array, exact).map { $0 - $1 }) / norm(exact)
        let errFirst = norm(zip(first.array, exact).map { $0 - $1 }) / norm(exact)
        // The unrolled term matters at this ξ, and the second order captures it.
        XCTAssertGreaterThan(errFirst, 0.1, "first order already matches: the test would not discriminate")
        XCTAssertLessThan(errSecond, 0.02, "second-order hypergradient differs from finite differences (\(errSecond))")
        // The supernet entry point runs the same computation and leaves the weights untouched.
        let config = NB201NetworkConfig(channels: 4, cellsPerStage: 1, inputChannels: 1, classes: 3, affine: false)
        let net = NB201Supernet(config: config, seed: 21)
        let data = TestData.make(count: 32, seed: 5)
        let train = BatchLoader(data.prefix(16), batchSize: 16, shuffle: false).epoch(0)[0]
        let val = BatchLoader(data.subset(Array(16..<32)), batchSize: 16, shuffle: false).epoch(0)[0]
        let a = Tensor(shape: [6, 5], data: (0..<30).map { _ in 0.1 * rng.nextNormal() }, requiresGrad: true)
        let before = net.parameters().map(\.array)
        let g = DARTS.secondOrderGradient(net, alpha: a, train: train, val: val, xi: 0.025)
        XCTAssertEqual(net.parameters().map(\.array), before)
        XCTAssertTrue(g.array.allSatisfy(\.isFinite))
        XCTAssertNotEqual(g.array, DARTS.firstOrderGradient(net, alpha: a, val: val).array)
    }

    func testAngleMetric() throws {
        let v = [Tensor(shape: [3], data: [1, 2, 3]), Tensor(shape: [2], data: [-1, 0.5])]
        XCTAssertEqual(RLNAS.angle(v, v), 0, accuracy: 1e-6)
        XCTAssertEqual(RLNAS.angle(v, v.map { $0 * 2 }), 0, accuracy: 1e-6)
        XCTAssertEqual(RLNAS.angle(v, v.map { $0 * -1 }), Double.pi, accuracy: 1e-6)
        XCTAssertEqual(RLNAS.angle([Tensor(shape: [2], data: [1, 0])], [Tensor(shape: [2], data: [0, 3])]), Double.pi / 2, accuracy: 1e-6)

        let config = NB201NetworkConfig(channels: 4, cellsPerStage: 1, inputChannels: 1, classes: 3, affine: false)
        let initial = NB201Supernet(config: config, seed: 4), trained = NB201Supernet(config: config, seed: 4)
        let arch = NB201Supernet.architecture
        let conv = arch(try NB201Cell(parsing: "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"))
        let noConv = arch(try NB201Cell(parsing: "|skip_connect~0|+|avg_pool_3x3~0|none~1|+|none~0|none~1|skip_connect~2|"))
        let cut = arch(try NB201Cell(parsing: "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"))
        XCTAssertFalse(trained.isConnected(cut))
        XCTAssertTrue(trained.isConnected(conv) && trained.isConnected(noConv))
        // Untrained: every path's angle is zero.
        XCTAssertEqual(RLNAS.angleMetric(initial: initial, trained: trained, cell: conv), 0, accuracy: 1e-6)
        // Moving the 3×3 convolutions' weights turns only the paths that use them.
        var rng = SeededGenerator(seed: 9)
        for c in trained.cells { for e in 0..<6 {
            let w = try XCTUnwrap(c.edges[e].candidates[NB201Operation.conv3x3.rawValue].body as? ReLUConvBN).conv.weight
            for j in 0..<w.count { w[flat: j] += 0.2 * rng.nextNormal() } } }
        XCTAssertGreaterThan(RLNAS.angleMetric(initial: initial, trained: trained, cell: conv), 0.05)
        XCTAssertEqual(RLNAS.angleMetric(initial: initial, trained: trained, cell: noConv), 0, accuracy: 1e-6)
        // A cell whose output does not depend on its input ranks last.
        XCTAssertEqual(RLNAS.angleMetric(initial: initial, trained: trained, cell: cut), 0)
        // The path vector holds shared + chosen weights, and stand-ins for parameter-free ops.
        let shared = trained.sharedParameters().count
        // Per cell (one per stage): two 3×3 convolution weights and one identity stand-in.
        XCTAssertEqual(trained.pathVector(conv).count, shared + 3 * (2 + 1))
    }

    func testDNALNeverDerivesNone() throws {
        for seed: UInt64 in 0..<4 {
            let cell = try run(.dnal, seed: seed).cell
            XCTAssertFalse(cell.ops.contains(.none), "DNAL seed \(seed) derived \(cell)")
        }
    }

    func testDNALGatesAnnealToOneHot() {
        var rng = SeededGenerator(seed: 2)
        let alpha = Tensor(shape: [6, 5], data: (0..<30).map { _ in 0.1 * rng.nextNormal() })
        let all = Array(repeating: Array(repeating: true, count: 5), count: 6)
        let space = NB201Supernet(config: NB201NetworkConfig(channels: 4, cellsPerStage: 1, inputChannels: 1, classes: 3, affine: false), seed: 0).space
        let argmax = NB201Supernet.cell(space.argmax(alpha.array, mask: all))
        var previousDistance = Float.infinity
        for beta: Float in [1, 10, 100, 1000, 10000] {
            let g = DNAL.gates(alpha, beta: beta, mask: all)
            var distance: Float = 0
            for e in 0..<6 { for k in 0..<5 {
                let target: Float = k == argmax[e].rawValue ? 1 : 0
                distance = max(distance, Swift.abs(g[flat: e * 5 + k] - target))
            } }
            XCTAssertLessThanOrEqual(distance, previousDistance + 1e-6)
            previousDistance = distance
        }
        XCTAssertLessThan(previousDistance, 1e-3, "gates at β=10⁴ are not one-hot")
        // β schedule: geometric from the initial to the final scale.
        XCTAssertEqual(DNAL.beta(epoch: 0, of: 5, initial: 1, final: 16), 1, accuracy: 1e-5)
        XCTAssertEqual(DNAL.beta(epoch: 2, of: 5, initial: 1, final: 16), 4, accuracy: 1e-4)
        XCTAssertEqual(DNAL.beta(epoch: 4, of: 5, initial: 1, final: 16), 16, accuracy: 1e-4)
        // An edge with a single allowed op (a few-shot split) has that gate on.
        var mask = all
        mask[2] = [false, false, true, false, false]
        let g = DNAL.gates(alpha, beta: 5, mask: mask)
        XCTAssertEqual((0..<5).map { g[flat: 10 + $0] }, [0, 0, 1, 0, 0])
        // The gates carry a gradient to α.
        let a = Tensor(shape: [6, 5], data: alpha.array, requiresGrad: true)
        DNAL.gates(a, beta: 3, mask: all).sum().backward()
        XCTAssertTrue((a.grad?.array ?? []).contains { $0 != 0 })
    }

    func testMdeNASRankingUpdate() {
        // Op 1 was trained less than op 0 yet scored higher: it gains, op 0 loses.
        let p: [Float] = [0.2, 0.2, 0.2, 0.2, 0.2]
        let q = MdeNAS.update(probabilities: p, trainedSteps: [10, 5, 8, 8, 8], accuracy: [0.5, 0.7, 0.6, 0.6, 0.6], lr: 0.01)
        XCTAssertEqual(q.reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertGreaterThan(q[1], p[1])
        XCTAssertLessThan(q[0], p[0])
        XCTAssertGreaterThan(q[1], q[2])
        // Consistent ranking (more training, higher accuracy) changes nothing.
        XCTAssertEqual(MdeNAS.update(probabilities: p, trainedSteps: [1, 2, 3, 4, 5], accuracy: [0.1, 0.2, 0.3, 0.4, 0.5], lr: 0.01), p)
    }
}
