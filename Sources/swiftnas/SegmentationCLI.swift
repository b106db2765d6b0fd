import ArgumentParser
import Foundation
import NASData
import NASEstimators
import NASExperiment
import NASNN
import NASSpaces
import NASTensor
import NASWeightSharing

/// The flags of segmentation training and search (`train --task segment`, `search --space
/// dense-seg`). All optional, so that giving one to a classification job can be refused.
struct SegmentationOptions: ParsableArguments {
    @Option(help: "Segmentation: side of the square training tiles, in pixels after --downsample (default 64).")
    var tile: Int?
    @Option(help: "Segmentation: pixels shared by neighbouring tiles (default a quarter of --tile, at most 16); predictions are averaged there.")
    var overlap: Int?
    @Option(help: "Segmentation: shrink images by this factor first (default 2: ISBI's 512² slices become 256²).")
    var downsample: Int?
    @Option(help: "Segmentation: contiguous folds of the images (default 5).")
    var folds: Int?
    @Option(name: .customLong("test-fold"), help: "Segmentation: the held-out fold reported on, never trained or searched on (default: the last).")
    var testFold: Int?
    @Option(help: "Segmentation: which mask pixels are the foreground: bright (> 127, default) or dark (ISBI's membranes).")
    var foreground: String?
    @Option(name: .customLong("dice-weight"), help: "Segmentation: weight of the soft-Dice term beside binary cross-entropy (default 1).")
    var diceWeight: Float?

    var given: [(String, Bool)] {
        [("--tile", tile != nil), ("--overlap", overlap != nil), ("--downsample", downsample != nil), ("--folds", folds != nil),
         ("--test-fold", testFold != nil), ("--foreground", foreground != nil), ("--dice-weight", diceWeight != nil)]
    }

    /// Refuses segmentation flags on a job that is not one.
    func refuse(for job: String) throws {
        if let (flag, _) = given.first(where: \.1) { throw ValidationError("\(flag) applies to segmentation only, not \(job)") }
    }

    func validate() throws {
        if let f = foreground, f != "bright", f != "dark" { throw ValidationError("--foreground must be bright or dark (got '\(f)')") }
        if let d = downsample, !(1...64).contains(d) { throw ValidationError("--downsample must be in 1…64 (got \(d))") }
        if let k = folds, !(2...1000).contains(k) { throw ValidationError("--folds must be in 2…1000 (got \(k))") }
        if let f = testFold, !(0..<(folds ?? 5)).contains(f) { throw ValidationError("--test-fold must be in 0..<\(folds ?? 5) (got \(f))") }
    }

    /// The recipe with these flags' tile, overlap and Dice weight.
    func recipe(epochs: Int, batchSize: Int, learningRate: Float, weightDecay: Float, seed: UInt64) -> SegmentationRecipe {
        var r = SegmentationRecipe()
        r.epochs = epochs; r.batchSize = batchSize; r.learningRate = learningRate; r.weightDecay = weightDecay; r.seed = seed
        r.tile = tile ?? 64; r.overlap = overlap ?? min(16, r.tile / 4); r.diceWeight = diceWeight ?? 1
        return r
    }

    /// Images and masks from `data` (a folder with `image/` and `label/`, or its parent with
    /// `train/image` and `train/label`), shrunk, and split into (development, test) folds.
    func load(_ data: String) throws -> (development: SegmentationSet, test: SegmentationSet, describe: String) {
        var root = URL(fileURLWithPath: data)
        let fm = FileManager.default
        if !fm.fileExists(atPath: root.appendingPathComponent("image").path),
           fm.fileExists(atPath: root.appendingPathComponent("train/image").path) {
            root = root.appendingPathComponent("train")
        }
        guard fm.fileExists(atPath: root.appendingPathComponent("image").path),
              fm.fileExists(atPath: root.appendingPathComponent("label").path) else {
            throw DataError(file: data, "a segmentation set needs image/ and label/ folders (or train/image and train/label)")
        }
        let all = try SegmentationSet.load(imageFolder: root.appendingPathComponent("image"), maskFolder: root.appendingPathComponent("label"),
                                           invertMasks: foreground == "dark").downsampled(by: downsample ?? 2)
        let k = folds ?? 5
        guard all.count >= k else { throw DataError(file: data, "\(all.count) images cannot make \(k) folds (--folds)") }
        let split = try all.fold(testFold ?? k - 1, of: k)
        let describe = "\(root.path) ×1/\(downsample ?? 2), \(foreground ?? "bright") foreground, test fold \(testFold ?? k - 1) of \(k)"
        return (split.train, split.heldOut, describe)
    }
}

/// `swiftnas train --task segment`: a U-Net or a dense-seg architecture trained on the
/// development folds, with the held-out fold's Dice after every epoch.
enum SegmentationTrainingCLI {
    static func run(data: String, options: SegmentationOptions, model: String?, space: String?, arch: String?, width: Int?,
                    recipe: SegmentationRecipe, out: String, resume: Bool) throws {
        let (train, test, describe) = try options.load(data)
        let net: any Layer
        let name: String
        switch (space, model ?? "unet") {
        case ("dense-seg"?, _):
            guard let arch else { throw ValidationError("--space dense-seg needs --arch 'dense-seg[k3-g8-d2|…]'") }
            let a = try DenseSegArchitecture(parsing: arch)
            try checkTile(recipe.tile, levels: a.levels)
            let weights = DenseSegNetwork.parameterCount(a, stemChannels: width ?? 16)
            guard weights <= 50_000_000 else {
                throw ValidationError("--arch \(a) has \(weights) weights; networks above 50,000,000 are refused (memory)")
            }
            net = DenseSegNetwork(a, stemChannels: width ?? 16, seed: recipe.seed)
            name = a.description
        case ("autodeeplab"?, _):
            guard let arch else { throw ValidationError("--space autodeeplab needs --arch 'adl[path=…|…]'") }
            let a = try AutoDeepLabArchitecture(parsing: arch)
            var space = AutoDeepLabConfig()
            (space.layers, space.blocks) = (a.path.count, a.cell.count)
            if let width { space.channels = width }
            try space.validate()
            try a.check(against: space)
            try checkTile(recipe.tile, levels: space.levels)
            net = AutoDeepLabNetwork(config: space, architecture: a, seed: recipe.seed)
            name = "\(a) (C=\(space.channels))"
        case (nil, "unet"):
            try checkTile(recipe.tile, levels: 2)
            var rng = SeededGenerator(seed: recipe.seed)
            net = UNet(width: width ?? 16, levels: 2, using: &rng)
            name = "unet (width \(width ?? 16), 2 levels)"
        case (nil, let other):
            throw ValidationError("--task segment trains --model unet or --space dense-seg, not --model \(other)")
        case (let other?, _):
            throw ValidationError("--task segment takes --space dense-seg or autodeeplab, not \(other)")
        }
        try makeOutputFolder(out, flag: "--out")
        let checkpoint = URL(fileURLWithPath: out).appendingPathComponent("checkpoint.safetensors")
        print("\(name): \(net.parameterCount) parameters; \(train.count) training and \(test.count) held-out images of \(train.width)×\(train.height) (\(describe)); \(Parallel.threadCount) threads")
        let trainer = try SegmentationTrainer(model: net, recipe: recipe, train: train, validation: test)
        let bars = EpochProgressBars { String(format: "loss %.4f %.0f tiles/s", $0.loss, $0.imagesPerSecond) }
        let history = try trainer.run(checkpoint: checkpoint, resume: resume) { bars.update($0) }
        for r in history {
            print(String(format: "epoch %d: train loss %.4f | held-out Dice %.4f IoU %.4f | %.1f s, %.0f tiles/s", r.epoch, r.trainLoss,
                         r.validationDice ?? .nan, r.validationIoU ?? .nan, r.seconds, r.tilesPerSecond))
        }
        if let last = history.last {
            print(String(format: "held-out Dice %.4f after %d epochs; checkpoint %@", last.validationDice ?? .nan, last.epoch, checkpoint.path))
        }
    }

    static func checkTile(_ tile: Int, levels: Int) throws {
        guard tile % (1 << levels) == 0 else {
            throw ValidationError("--tile \(tile) must be divisible by 2^\(levels) = \(1 << levels) (the network halves it \(levels) times)")
        }
    }
}

/// `swiftnas search --space dense-seg`: the policy-gradient (or another categorical) search over
/// the dense encoder–decoder's per-block settings, each child trained briefly on the development
/// folds but the last and rewarded by its Dice on that last one; stored trial by trial.
enum SegmentationSearchCLI {
    static func run(_ request: SearchRequest, data: String?, options: SegmentationOptions, childEpochs: Int, store: String?,
                    quiet: Bool) throws {
        guard let data else { throw ValidationError("--space dense-seg needs --data (a folder with image/ and label/)") }
        let (development, _, describe) = try options.load(data)
        guard development.count >= 2 else { throw DataError(file: data, "the search needs at least 2 development images") }
        // The last development fold validates the children; the test fold stays unseen.
        let k = (options.folds ?? 5) - 1
        let (train, validation) = k >= 2 ? try development.fold(k - 1, of: k) : try development.fold(1, of: 2)
        let recipe = options.recipe(epochs: childEpochs, batchSize: 16, learningRate: 2e-3, weightDecay: 0, seed: request.seed)
        let space = DenseSegSearchSpace()
        let estimator = try DenseSegTrainingEstimator(space: space, recipe: recipe, train: train, validation: validation)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let recipeText = String(decoding: try encoder.encode(recipe), as: UTF8.self)
        let description = "\(estimator.name) on \(describe); \(train.count) training, \(validation.count) validation images; recipe \(recipeText)"
        let trialStore: any TrialStore = try store.map { try SQLiteTrialStore(path: $0) } ?? InMemoryTrialStore()
        let runner = try CategoricalSearchSetup.runner(strategy: request.strategy, overrides: request.hyperparameters, seed: request.seed,
                                                       budget: request.budget, space: space, estimator: estimator,
                                                       objective: "valid_dice", report: "valid_dice",
                                                       estimatorDescription: description, store: trialStore)
        print("search: dense-seg × \(request.strategy), seed \(request.seed); children: \(childEpochs) epochs on \(train.count) images, rewarded by Dice on \(validation.count); baseline \(space.baseline)")
        var display = SearchProgressDisplay(reportMetric: "valid_dice")
        let summary = try runner.run { if !quiet { display.update($0) } }
        if !quiet { display.finish() }
        print(String(format: "trials: %d (%d resumed from the store), %.1f child epochs, %.2f h",
                     summary.queries, summary.resumedTrials, summary.cost, summary.seconds / 3600))
        if let best = summary.incumbent {
            print(String(format: "best: trial %d %@ (validation Dice %.2f%%)", best.trial, best.architecture, best.objective))
        }
    }
}

/// `swiftnas search --space autodeeplab`: Auto-DeepLab's supernet trained by first-order bilevel
/// optimisation on two halves of the development images, then decoded (Viterbi path, top-2 cell).
enum AutoDeepLabSearchCLI {
    static func run(seed: UInt64, data: String?, options: SegmentationOptions, epochs: Int, checkpoint: String?, quiet: Bool) throws {
        guard let data else { throw ValidationError("--space autodeeplab needs --data (a folder with image/ and label/)") }
        let (development, _, describe) = try options.load(data)
        guard development.count >= 2 else { throw DataError(file: data, "the search needs at least 2 development images") }
        let (weights, architecture) = try development.fold(1, of: 2)
        var config = AutoDeepLabSearchConfig()
        (config.epochs, config.warmupEpochs, config.seed, config.tile) = (epochs, epochs / 3, seed, options.tile ?? 64)
        let search = try AutoDeepLabSearch(space: AutoDeepLabConfig(), config: config, weightImages: weights, architectureImages: architecture)
        print("search: autodeeplab, seed \(seed); supernet \(search.supernet.weightParameters.reduce(0) { $0 + $1.count }) weights, "
              + "\(epochs) epochs (α, β from epoch \(config.warmupEpochs + 1)) on \(weights.count) + \(architecture.count) images of \(describe)")
        var bar: ProgressBar? = nil
        let started = Date()
        let result = try search.run(checkpoint: checkpoint.map(URL.init(fileURLWithPath:))) { epoch, b, steps, loss in
            guard !quiet else { return }
            if b == 0 { bar?.finish(); bar = ProgressBar(total: steps, label: "epoch \(epoch + 1)/\(epochs)") }
            bar?.update(b + 1, String(format: "loss %.4f", loss))
        }
        bar?.finish()
        let table = search.supernet.transitionTable()
        let space = search.space
        for (l, rows) in table.enumerated() {
            let sources = l == 0 ? [0] : space.levels(at: l - 1)
            print("layer \(l) transitions: " + sources.map { from in
                "\(from)→[" + rows[from].map { String(format: "%.2f", $0) }.joined(separator: " ") + "]" }.joined(separator: " "))
        }
        print(String(format: "searched in %.1f min", Date().timeIntervalSince(started) / 60))
        print("architecture: \(result)")
        // The hand-designed comparison: DeepLab's "down to the deepest level and stay" path with
        // the searched cell, its width chosen so its weights match the searched network's.
        let fixed = AutoDeepLabArchitecture(path: (0..<space.layers).map { min($0 + 1, space.levels - 1) }, cell: result.cell)
        func weightCount(_ a: AutoDeepLabArchitecture, _ c: Int) -> Int {
            var s = space
            s.channels = c
            return AutoDeepLabNetwork(config: s, architecture: a, seed: 0).parameterCount
        }
        let target = weightCount(result, space.channels)
        let c = (1...64).min { abs(weightCount(fixed, $0) - target) < abs(weightCount(fixed, $1) - target) } ?? space.channels
        print("searched network: \(target) weights at --channels \(space.channels)")
        print("fixed path: \(fixed) at --channels \(c) (\(weightCount(fixed, c)) weights)")
    }
}
