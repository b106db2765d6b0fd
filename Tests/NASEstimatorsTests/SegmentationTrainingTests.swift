import Foundation
@testable import NASData
@testable import NASEstimators
import NASExperiment
import NASNN
@testable import NASSpaces
import NASStrategies
import NASTensor
import XCTest

/// Images of one bright disk on a noisy dark background, with the disk as the mask: a task a
/// small segmentation network learns in seconds, so training, scoring and search can be checked
/// end to end without any data outside the repository.
func diskImages(count: Int, side: Int, seed: UInt64) throws -> SegmentationSet {
    var rng = SeededGenerator(seed: seed)
    var images: [Float] = [], masks: [Float] = []
    for _ in 0..<count {
        let r = Float(side) * Float.random(in: 0.15...0.3, using: &rng)
        let cy = Float.random(in: r...(Float(side) - r), using: &rng), cx = Float.random(in: r...(Float(side) - r), using: &rng)
        for y in 0..<side {
            for x in 0..<side {
                let inside = (Float(y) - cy) * (Float(y) - cy) + (Float(x) - cx) * (Float(x) - cx) <= r * r
                images.append((inside ? 0.7 : 0.3) + Float.random(in: -0.15...0.15, using: &rng))
                masks.append(inside ? 1 : 0)
            }
        }
    }
    return try SegmentationSet(images: images, masks: masks, height: side, width: side, names: (0..<count).map { "\($0).png" })
}

final class SegmentationTrainingTests: XCTestCase {
    func recipe(epochs: Int, tile: Int = 16, overlap: Int = 4) -> SegmentationRecipe {
        var r = SegmentationRecipe()
        (r.epochs, r.batchSize, r.learningRate, r.tile, r.overlap, r.seed) = (epochs, 8, 5e-3, tile, overlap, 3)
        return r
    }

    func testUNetLearnsToSegmentDisks() throws {
        let train = try diskImages(count: 12, side: 32, seed: 1), test = try diskImages(count: 4, side: 32, seed: 2)
        var rng = SeededGenerator(seed: 0)
        let net = UNet(width: 8, levels: 2, using: &rng)
        XCTAssertEqual(net(Tensor(zeros: [2, 16, 16, 1])).shape, [2, 16, 16, 1])
        let trainer = try SegmentationTrainer(model: net, recipe: recipe(epochs: 6), train: train, validation: test)
        let before = try trainer.evaluate(test)
        let history = try trainer.run()
        XCTAssertEqual(history.count, 6)
        let after = try XCTUnwrap(history.last?.validationDice)
        XCTAssertGreaterThan(after, 0.9, "held-out Dice \(after) (before training \(before.dice))")
        XCTAssertLessThan(try XCTUnwrap(history.last).trainLoss, history[0].trainLoss)
        // The recorded score is `evaluate`'s, and IoU = Dice / (2 − Dice) per image bounds the mean.
        XCTAssertEqual(try trainer.evaluate(test).dice, after, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(try XCTUnwrap(history.last?.validationIoU), after)
    }

    func testStitchedPredictionCoversEveryPixelOnce() throws {
        let set = try diskImages(count: 1, side: 20, seed: 4)
        var rng = SeededGenerator(seed: 0)
        let trainer = try SegmentationTrainer(model: UNet(width: 4, levels: 1, using: &rng), recipe: recipe(epochs: 1, tile: 8, overlap: 2),
                                              train: set)
        let p = try trainer.predict(set, image: 0)
        XCTAssertEqual(p.count, 400)
        XCTAssertTrue(p.allSatisfy { $0 > 0 && $0 < 1 })
    }

    func testEpochPlanVisitsEveryTileOnceWithSeededSymmetries() throws {
        let set = try diskImages(count: 3, side: 16, seed: 5)
        var rng = SeededGenerator(seed: 0)
        let trainer = try SegmentationTrainer(model: UNet(width: 4, levels: 1, using: &rng), recipe: recipe(epochs: 2, tile: 8, overlap: 0),
                                              train: set)
        let plan = trainer.sampler.epochPlan(0)
        XCTAssertEqual(plan.count, 12)
        XCTAssertEqual(Set(plan.map { "\($0.image),\($0.tile)" }).count, 12)
        XCTAssertEqual(plan.map { "\($0.image),\($0.tile),\($0.symmetry)" }, trainer.sampler.epochPlan(0).map { "\($0.image),\($0.tile),\($0.symmetry)" })
        XCTAssertNotEqual(plan.map { "\($0.image),\($0.tile)" }, trainer.sampler.epochPlan(1).map { "\($0.image),\($0.tile)" })
        XCTAssertGreaterThan(Set(plan.map { $0.symmetry.rawValue }).count, 1)
    }

    /// Stopped after its first epoch and resumed from the checkpoint, training ends with the
    /// weights an uninterrupted run has, bit for bit.
    func testResumedTrainingEqualsUninterrupted() throws {
        let train = try diskImages(count: 4, side: 16, seed: 6), test = try diskImages(count: 2, side: 16, seed: 7)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("seg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("checkpoint.safetensors")
        func fresh() throws -> SegmentationTrainer {
            let net = DenseSegNetwork(try DenseSegArchitecture(parsing: "dense-seg[k3-g4-d1|k3-g4-d2|k5-g4-d1]"), stemChannels: 4, seed: 9)
            return try SegmentationTrainer(model: net, recipe: recipe(epochs: 3, tile: 8, overlap: 2), train: train, validation: test)
        }
        let whole = try fresh()
        try whole.run()
        struct Stop: Error {}
        let first = try fresh()
        XCTAssertThrowsError(try first.run(checkpoint: checkpoint) { p in if p.epoch == 1 { throw Stop() } })
        let resumed = try fresh()
        let history = try resumed.run(checkpoint: checkpoint, resume: true)
        XCTAssertEqual(history.map(\.trainLoss), whole.history.map(\.trainLoss))
        XCTAssertEqual(history.map(\.validationDice), whole.history.map(\.validationDice))
        for ((name, a), (_, b)) in zip(whole.model.namedParameters(), resumed.model.namedParameters()) {
            XCTAssertEqual(a.array, b.array, name)
        }
        // Other settings are refused rather than silently mixed.
        var other = recipe(epochs: 3, tile: 8, overlap: 2)
        other.learningRate = 1e-3
        let mismatched = try SegmentationTrainer(model: fresh().model, recipe: other, train: train)
        XCTAssertThrowsError(try mismatched.run(checkpoint: checkpoint, resume: true)) { error in
            XCTAssertTrue("\(error)".contains("other settings"), "\(error)")
        }
    }

    func testRecipeAndSizesAreValidated() throws {
        let set = try diskImages(count: 2, side: 16, seed: 8)
        var rng = SeededGenerator(seed: 0)
        let net = UNet(width: 4, levels: 1, using: &rng)
        for change in [{ (r: inout SegmentationRecipe) in r.tile = 32 }, { $0.overlap = 16 }, { $0.epochs = 0 }, { $0.learningRate = .nan },
                       { $0.diceWeight = -1 }] {
            var r = recipe(epochs: 1)
            change(&r)
            XCTAssertThrowsError(try SegmentationTrainer(model: net, recipe: r, train: set))
        }
        let other = try diskImages(count: 1, side: 20, seed: 8)
        XCTAssertThrowsError(try SegmentationTrainer(model: net, recipe: recipe(epochs: 1), train: set, validation: other))
    }

    func testDownsamplingAveragesImagesAndTakesMaskMajority() throws {
        let set = try SegmentationSet(images: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map { Float($0) / 15 },
                                      masks: [1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 1], height: 4, width: 4, names: ["a"])
        let small = try set.downsampled(by: 2)
        XCTAssertEqual([small.height, small.width], [2, 2])
        let sums: [Float] = small.images.map { ($0 * 15 * 4).rounded() }
        XCTAssertEqual(sums, [10, 18, 42, 50])   // 0+1+4+5, 2+3+6+7, 8+9+12+13, 10+11+14+15
        XCTAssertEqual(small.masks, [1, 0, 0, 1])   // 3 of 4, 0 of 4, 1 of 4, 4 of 4
        XCTAssertThrowsError(try set.downsampled(by: 0))
        XCTAssertThrowsError(try set.downsampled(by: 5))
    }
}

final class DenseSegSearchTests: XCTestCase {
    func testNetworkShapeAndParameterCountByHand() throws {
        let a = try DenseSegArchitecture(parsing: "dense-seg[k3-g4-d1|k5-g2-d2|k3-g4-d1]")
        let net = DenseSegNetwork(a, stemChannels: 4, seed: 0)
        XCTAssertEqual(net(Tensor(zeros: [2, 8, 8, 1])).shape, [2, 8, 8, 1])
        // stem 1·9·4; encoder: BN 4 (8) + conv 4·9·4; transition: BN 8 (16) + 8·8; bottleneck (8 in, k5, g2, d2):
        // BN 8 (16) + 8·25·2, BN 10 (20) + 10·25·2; up: 12·4·8 + 8; decoder (16 in): BN 16 (32) + 16·9·4;
        // head: BN 20 (40) + 20 + 1.
        let expected = 36 + 8 + 144 + 16 + 64 + 16 + 400 + 20 + 500 + 392 + 32 + 576 + 40 + 21
        XCTAssertEqual(net.parameterCount, expected)
        XCTAssertEqual(DenseSegNetwork.parameterCount(a, stemChannels: 4), expected)
        var rng = SeededGenerator(seed: 0)
        for _ in 0..<5 {
            let b = DenseSegSearchSpace().sample(using: &rng)
            XCTAssertEqual(DenseSegNetwork.parameterCount(b), DenseSegNetwork(b, seed: 0).parameterCount, "\(b)")
        }
    }

    func testDenseBlockKeepsItsInputAndAddsGrowthPerLayer() throws {
        var rng = SeededGenerator(seed: 0)
        let block = DenseBlock(3, DenseBlockSetting(kernel: 3, growth: 2, depth: 3), using: &rng)
        let x = Tensor.normal([1, 5, 5, 3], std: 1, using: &rng)
        let y = block(x)
        XCTAssertEqual(y.shape, [1, 5, 5, 9])
        XCTAssertEqual(y.slice(axis: 3, 0..<3).array, x.array)
    }

    func testNotationRoundTripsAndErrorsNameTheField() throws {
        let text = "dense-seg[k3-g8-d2|k5-g12-d1|k3-g16-d3|k5-g4-d2|k3-g8-d1]"
        let a = try DenseSegArchitecture(parsing: text)
        XCTAssertEqual(a.description, text)
        XCTAssertEqual(a.levels, 2)
        for (bad, mentions) in [("dense-seg[k3-g8-d2|k3-g8-d2]", "odd number"), ("dense-seg[k4-g8-d2]", "kernel must be odd"),
                                ("dense-seg[k3-g0-d2]", "growth"), ("dense-seg[k3-g8-d99]", "depth"), ("dense-seg[k3-g8]", "needs"),
                                ("dense-seg[k3-k3-d2]", "each once"), ("unet", "expected"),
                                ("dense-seg[k3-g8-d99999999999999999999]", "block 0")] {
            XCTAssertThrowsError(try DenseSegArchitecture(parsing: bad), bad) { error in
                XCTAssertTrue("\(error)".contains(mentions), "\(bad): \(error)")
            }
        }
    }

    func testSpaceChoicesRoundTripAndMovesStayInside() throws {
        let space = DenseSegSearchSpace()
        try space.validate()
        XCTAssertEqual(space.choiceCounts.count, 15)
        var rng = SeededGenerator(seed: 1)
        for _ in 0..<20 {
            let a = space.sample(using: &rng)
            XCTAssertEqual(space.architecture(choices: space.choices(of: a)), a)
            XCTAssertEqual(try space.parse(space.describe(a)), a)
            let m = space.mutate(a, using: &rng)
            XCTAssertNotEqual(m, a)
            XCTAssertEqual(zip(space.choices(of: a), space.choices(of: m)).filter { $0 != $1 }.count, 1)
            XCTAssertEqual(space.encode(a).reduce(0, +), 15)
        }
        XCTAssertEqual(space.neighbors(of: space.baseline).count, 5 * (1 + 3 + 2))
        XCTAssertThrowsError(try space.parse("dense-seg[k7-g8-d2|k3-g8-d2|k3-g8-d2|k3-g8-d2|k3-g8-d2]")) { error in
            XCTAssertTrue("\(error)".contains("kernel 7"), "\(error)")
        }
        XCTAssertThrowsError(try space.parse("dense-seg[k3-g8-d2]"))
        var bad = space
        bad.kernels = [3, 4]
        XCTAssertThrowsError(try bad.validate())
    }

    /// A search killed after two trials (and one killed between an ask and its evaluation)
    /// resumes to the same trials as one that was never stopped.
    func testSearchResumesAfterAKillWithNoTrialLost() throws {
        var space = DenseSegSearchSpace()
        (space.levels, space.kernels, space.growths, space.depths) = (1, [3, 5], [2, 4], [1, 2])
        let data = try diskImages(count: 6, side: 16, seed: 10)
        let (train, validation) = try data.fold(1, of: 2)
        var recipe = SegmentationRecipe()
        (recipe.epochs, recipe.batchSize, recipe.tile, recipe.overlap, recipe.seed) = (1, 8, 8, 0, 2)
        let estimator = try DenseSegTrainingEstimator(space: space, recipe: recipe, train: train, validation: validation, stemChannels: 4)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dseg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func runner(_ store: String) throws -> ExperimentRunner<DenseSegSearchSpace> {
            try CategoricalSearchSetup.runner(strategy: "reinforce-lstm", seed: 4, budget: Budget(queries: 5), space: space,
                                              estimator: estimator, objective: "valid_dice", report: "valid_dice", estimatorDescription: "disks", store: SQLiteTrialStore(path: folder.appendingPathComponent(store).path))
        }
        let whole = try runner("whole.sqlite").run()
        let killed = try runner("killed.sqlite")
        killed.stopAfterTrials = 2
        _ = try killed.run()
        let killedAgain = try runner("killed.sqlite")
        killedAgain.stopAfterAskOfTrial = 3
        _ = try killedAgain.run()
        let resumed = try runner("killed.sqlite").run()
        func rows(_ s: ExperimentSummary) -> [String] {
            s.trials.filter { $0.status == .complete }.map { "\($0.architecture) \($0.objective ?? -1)" }
        }
        XCTAssertEqual(rows(resumed), rows(whole))
        XCTAssertEqual(rows(whole).count, 5)
        XCTAssertTrue(whole.trials.allSatisfy { ($0.metrics["valid_dice"] ?? -1) >= 0 && ($0.metrics["valid_dice"] ?? 101) <= 100 })
        XCTAssertThrowsError(try CategoricalSearchSetup.runner(strategy: "ctnas", seed: 0, budget: Budget(queries: 1), space: space,
                                                               estimator: estimator, objective: "valid_dice", report: "valid_dice",
                                                               estimatorDescription: "disks", store: InMemoryTrialStore()))
    }
}
