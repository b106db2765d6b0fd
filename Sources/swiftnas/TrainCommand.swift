import ArgumentParser
import Foundation
import NASData
import NASEstimators
import NASNN
import NASSpaces
import NASTensor

/// `swiftnas train`: trains a built-in model on a data set, with checkpoints and resume.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on an image data set and report its test accuracy.",
        discussion: """
        Data (--data): a folder with MNIST/Fashion-MNIST IDX files (train-images-idx3-ubyte[.gz], …), \
        CIFAR-10 binary batches (a folder with data_batch_*.bin and test_batch.bin), or a CSV file \
        with one image per row (label in the first column if the header names it 'label', else the last; \
        the test split is then --test-fraction of it).
        Models (--model): cnn (two conv3×3+BN+ReLU+max-pool stages, 32 and 64 channels, a 128-unit \
        hidden layer with dropout, linear classifier), mlp (two hidden ReLU layers of 256 and 128), \
        refcnn (three conv3×3-16+BN+ReLU, global average pool, linear), vit (a Vision Transformer: \
        patch embedding, class token, learned position embedding, transformer blocks, linear head; \
        --param patch=4 dim=64 depth=6 heads=4 mlp_ratio=4 dropout=0 norm=pre by default, norm=post for \
        Post-LN blocks).
        Every epoch appends a JSON line to <out>/log.jsonl and writes <out>/checkpoint.safetensors; \
        --resume continues from that checkpoint with the same result as an uninterrupted run.
        """)

    @Option(help: "Data set path (IDX folder, CIFAR folder or CSV file; for --task segment a folder with image/ and label/ PNGs).")
    var data: String

    @Option(help: "classify (default) or segment (binary masks: --model unet or --space dense-seg).")
    var task = "classify"

    @OptionGroup(title: "Segmentation (--task segment)") var segmentation: SegmentationOptions

    @Option(help: "Model: cnn (default), mlp or refcnn (without --space).")
    var model: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("Model setting key=value (repeatable; vit: patch, dim, depth, heads, mlp_ratio, dropout, norm=pre|post).", valueName: "key=value"))
    var params: [String] = []

    @Option(help: "Search space of --arch: nb201 (a NAS-Bench-201 network of that cell), darts (DARTS's network of that genotype), glit (GLiT's transformer of that architecture) or, with --task segment, dense-seg (a dense encoder–decoder 'dense-seg[k3-g8-d2|…]').")
    var space: String?

    @Option(help: "Architecture in the space's notation: a NAS-Bench-201 cell string, a DARTS genotype 'Genotype(normal=[…], …)', or a GLiT architecture 'glit(patch=7,dim=64)[g2l2-d16-k5-e2-m4|…]'.")
    var arch: String?

    @Option(help: "Initial channels C (NAS-Bench-201 stem; DARTS: C, the stem has 3C; default 16).") var channels: Int?
    @Option(help: "NB201 cells per stage N.") var cells: Int?
    @Option(help: "DARTS: cells in the network, reductions at 1/3 and 2/3 (the paper: 20).") var layers: Int?
    @Option(name: .customLong("auxiliary-weight"), help: "DARTS: weight of the auxiliary head's loss (the paper: 0.4; 0: no head).")
    var auxiliaryWeight: Float?
    @Option(name: .customLong("drop-path"), help: "DARTS: drop-path probability, reached linearly at the last epoch (the paper: 0.2).")
    var dropPath: Float?

    @Option(help: "Output folder for the checkpoint and the log.")
    var out = "runs/train"

    @Option(help: "Epochs.") var epochs = 8
    @Option(name: .customLong("batch-size"), help: "Mini-batch size (default 128; 16 tiles for --task segment).") var batchSize: Int?
    @Option(help: "Optimizer: sgd, adam or adamw.") var optimizer = "adam"
    @Option(name: .customLong("lr"), help: "Peak learning rate.") var learningRate: Float = 2e-3
    @Option(help: "SGD momentum (default 0.9).") var momentum: Float?
    @Option(name: .customLong("weight-decay"), help: "Weight decay.") var weightDecay: Float = 0
    @Option(help: "Learning-rate schedule: cosine, step or constant.") var schedule = "cosine"
    @Option(name: .customLong("warmup-epochs"), help: "Linear warm-up epochs.") var warmupEpochs = 0
    @Option(name: .customLong("label-smoothing"), help: "Label smoothing ε.") var labelSmoothing: Float = 0
    @Option(name: .customLong("clip"), help: "Clip the gradient norm to this value (0: off).") var gradientClip: Float = 0
    @Option(name: .customLong("crop-padding"), help: "Random-crop padding in pixels (0: off).") var cropPadding = 0
    @Flag(name: .customLong("flip"), help: "Random horizontal flips.") var horizontalFlip = false
    @Option(help: "Cutout square size (0: off).") var cutout = 0
    @Option(help: "Seed of every random choice.") var seed: UInt64 = 0
    @Option(name: .customLong("train-limit"), help: "Use only the first N training images (0: all).") var trainLimit = 0
    @Option(name: .customLong("test-fraction"), help: "Held-out fraction when the data is a single CSV file.") var testFraction = 0.2
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Continue from <out>/checkpoint.safetensors if it exists.") var resume = false

    func validate() throws {
        guard task == "classify" || task == "segment" else { throw ValidationError("--task must be classify or segment (got '\(task)')") }
        if task == "segment" { return try validateSegmentation() }
        try segmentation.refuse(for: "--task classify")
        try validateCounts([("--channels", channels ?? 1, 1), ("--cells", cells ?? 1, 1), ("--layers", layers ?? 3, 3),
                            ("--train-limit", trainLimit, 0)])
        // A flag of one space given for another is a mistake, not something to ignore.
        if space != "nb201", cells != nil { throw ValidationError("--cells applies to --space nb201 only") }
        if space != "darts" {
            for (flag, given) in [("--layers", layers != nil), ("--auxiliary-weight", auxiliaryWeight != nil), ("--drop-path", dropPath != nil)] where given {
                throw ValidationError("\(flag) applies to --space darts only")
            }
        }
        if let w = auxiliaryWeight, !(w.isFinite && w >= 0) { throw ValidationError("--auxiliary-weight must be ≥ 0 (got \(w))") }
        if let p = dropPath, !(p.isFinite && p >= 0 && p < 1) { throw ValidationError("--drop-path must be in [0, 1) (got \(p))") }
        if space != nil, arch == nil { throw ValidationError("--space \(space ?? "") needs --arch") }
        if space == nil {
            for (flag, given) in [("--arch", arch != nil), ("--channels", channels != nil)] where given {
                throw ValidationError("\(flag) applies with --space nb201, darts or glit only")
            }
        } else if model != nil || !params.isEmpty {
            throw ValidationError("--model and --param are for the built-in models; with --space the network is --arch's")
        } else if space == "glit", channels != nil {
            throw ValidationError("--channels does not apply to --space glit: the architecture string holds its sizes")
        }
        if momentum != nil, optimizer != "sgd" { throw ValidationError("--momentum applies to --optimizer sgd only") }
        if let threads { try validateThreads(threads) }
        guard testFraction.isFinite, testFraction > 0, testFraction < 1 else {
            throw ValidationError("--test-fraction must be in (0, 1) (got \(testFraction))")
        }
        try trainingConfig().validate()
    }

    /// `--task segment` takes the optimiser flags it uses and refuses the classification-only ones.
    func validateSegmentation() throws {
        let classificationOnly: [(String, Bool)] = [
            ("--cells", cells != nil), ("--layers", layers != nil), ("--auxiliary-weight", auxiliaryWeight != nil),
            ("--drop-path", dropPath != nil), ("--param", !params.isEmpty), ("--optimizer", optimizer != "adam"),
            ("--momentum", momentum != nil), ("--schedule", schedule != "cosine"), ("--warmup-epochs", warmupEpochs != 0),
            ("--label-smoothing", labelSmoothing != 0), ("--clip", gradientClip != 0), ("--crop-padding", cropPadding != 0),
            ("--flip", horizontalFlip), ("--cutout", cutout != 0), ("--train-limit", trainLimit != 0)]
        if let (flag, _) = classificationOnly.first(where: \.1) {
            throw ValidationError("\(flag) does not apply to --task segment (Adam, cosine schedule, tiles turned by the square's symmetries)")
        }
        if let space, space != "dense-seg", space != "autodeeplab" {
            throw ValidationError("--task segment takes --space dense-seg or autodeeplab, not \(space)")
        }
        if let space, arch == nil { throw ValidationError("--space \(space) needs --arch") }
        if space == nil, arch != nil { throw ValidationError("--arch needs --space dense-seg or autodeeplab") }
        if let m = model, m != "unet" || space != nil { throw ValidationError("--task segment trains --model unet or --space dense-seg, not --model \(m)") }
        if let c = channels, !(1...1024).contains(c) { throw ValidationError("--channels must be in 1…1024 (got \(c))") }
        if let threads { try validateThreads(threads) }
        try segmentationRecipe().validate()
    }

    func segmentationRecipe() -> SegmentationRecipe {
        segmentation.recipe(epochs: epochs, batchSize: batchSize ?? 16, learningRate: learningRate,
                            weightDecay: weightDecay, seed: seed)
    }

    /// A Pre-LN ViT's multiply-adds per image, counted as GLiT counts its networks (a ViT is a
    /// GLiT network whose heads are all global), for comparisons at equal cost; empty for other models.
    func vitMultiplyAdds(_ net: any Layer) -> String {
        guard let v = (net as? VisionTransformer)?.config, v.normFirst else { return "" }
        var c = GLiTSpaceConfig()
        (c.height, c.width, c.channels, c.classes, c.patch, c.dim, c.depth, c.heads) =
            (v.height, v.width, v.channels, v.classes, v.patch, v.dim, v.depth, v.heads)
        let plain = GLiTArchitecture.plainViT(patch: v.patch, dim: v.dim, depth: v.depth, heads: v.heads, mlpRatio: v.mlpRatio)
        return " (\(plain.multiplyAccumulates(c)) multiply-adds per image)"
    }

    func trainingConfig() -> TrainingConfig {
        var config = TrainingConfig()
        config.epochs = epochs; config.batchSize = batchSize ?? 128; config.optimizer = optimizer
        config.learningRate = learningRate; config.momentum = momentum ?? 0.9; config.weightDecay = weightDecay
        config.schedule = schedule; config.warmupEpochs = warmupEpochs; config.labelSmoothing = labelSmoothing
        config.gradientClip = gradientClip; config.seed = seed; config.cropPadding = cropPadding
        config.horizontalFlip = horizontalFlip; config.cutout = cutout
        return config
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        if task == "segment" {
            return try SegmentationTrainingCLI.run(data: data, options: segmentation, model: model, space: space, arch: arch,
                                                   width: channels, recipe: segmentationRecipe(), out: out, resume: resume)
        }
        let config = trainingConfig()
        var (train, test) = try loadDataSet(data, testFraction: testFraction, seed: seed)
        if trainLimit > 0 { train = train.prefix(trainLimit) }
        // Normalise with the training set's statistics.
        let stats = train.channelStatistics()
        train = train.normalized(mean: stats.mean, std: stats.std)
        test = test.normalized(mean: stats.mean, std: stats.std)

        let classes = max(train.classCount, test.classCount)
        let model = self.model ?? "cnn", channels = self.channels ?? 16
        let net: any Layer
        let description: String
        // What `swiftnas export` needs to rebuild the network (zoo models, NB201 and DARTS networks).
        var modelFile: TrainedModelFile? = nil
        switch space {
        case nil:
            let file = TrainedModelFile(model: model, parameters: try keyValueOverrides(params), height: train.height, width: train.width,
                                        inputChannels: train.channels, classes: classes, mean: stats.mean, std: stats.std,
                                        data: data, testFraction: testFraction, seed: seed)
            modelFile = file
            net = try file.network()
            description = "model \(model)" + (params.isEmpty ? "" : " " + params.joined(separator: " ")) + vitMultiplyAdds(net)
        case "nb201":
            guard let arch else { throw ValidationError("--space nb201 needs --arch '<cell string>'") }
            let cell = try NB201Cell(parsing: arch)
            // NB201 networks expect 32×32 inputs (three stages, two halvings); smaller images are zero-padded.
            try checkNB201Input(train, data)
            if train.height < 32 || train.width < 32 { train = train.padded(to: 32); test = test.padded(to: 32) }
            let n = cells ?? 5
            let file = TrainedModelFile(space: "nb201", arch: "\(cell)", channels: channels, cells: n, height: train.height, width: train.width,
                                        inputChannels: train.channels, classes: classes, mean: stats.mean, std: stats.std,
                                        padTo: 32, data: data, testFraction: testFraction, seed: seed)
            modelFile = file
            net = try file.network()
            description = "nb201 cell \(cell) (C=\(channels), N=\(n))"
        case "darts":
            guard let arch else { throw ValidationError("--space darts needs --arch 'Genotype(normal=[…], …)'") }
            let genotype = try DARTSGenotype(parsing: arch)
            let config = DARTSNetworkConfig(channels: channels, layers: layers ?? 8, inputChannels: train.channels, classes: classes,
                                            affine: true, auxiliaryWeight: auxiliaryWeight ?? 0, dropPath: dropPath ?? 0)
            net = DARTSNetwork(genotype: genotype, config: config, seed: seed)
            modelFile = TrainedModelFile(space: "darts", arch: "\(genotype)", channels: channels, layers: config.layers,
                                         auxiliaryWeight: config.auxiliaryWeight, height: train.height, width: train.width,
                                         inputChannels: train.channels, classes: classes, mean: stats.mean, std: stats.std,
                                         data: data, testFraction: testFraction, seed: seed)
            description = "darts \(genotype) (C=\(channels), layers=\(config.layers), auxiliary \(config.auxiliaryWeight), drop path \(config.dropPath))"
        case "glit":
            guard let arch else { throw ValidationError("--space glit needs --arch 'glit(patch=P,dim=D)[…]'") }
            let architecture = try GLiTArchitecture(parsing: arch)
            let config = try architecture.config(height: train.height, width: train.width, channels: train.channels, classes: classes)
            net = GLiTNetwork(architecture, config: config, seed: seed)
            description = "glit \(architecture) (\(architecture.multiplyAccumulates(config)) multiply-adds per image)"
        case let other?:
            throw ValidationError("unknown search space '\(other)'; available: nb201, darts, glit")
        }
        let outDir = URL(fileURLWithPath: out)
        try makeOutputFolder(out, flag: "--out")
        let checkpoint = outDir.appendingPathComponent("checkpoint.safetensors")
        let log = outDir.appendingPathComponent("log.jsonl")
        if !resume { try? FileManager.default.removeItem(at: log) }
        try modelFile?.write(to: outDir)

        print("\(description): \(net.parameterCount) parameters; \(train.count) training and \(test.count) test images of \(train.height)×\(train.width)×\(train.channels); \(Parallel.threadCount) threads")
        let trainer = try Trainer(model: net, config: config, train: train, test: test)
        let bars = EpochProgressBars { String(format: "loss %.4f acc %.2f%% %.0f img/s", $0.loss, 100 * $0.accuracy, $0.imagesPerSecond) }
        let started = Date()
        let history = try trainer.run(checkpoint: checkpoint, resume: resume, log: log) { bars.update($0) }
        for r in history {
            print(String(format: "epoch %d: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% | %.1f s, %.0f img/s",
                         r.epoch, r.trainLoss, 100 * r.trainAccuracy, r.testLoss, 100 * r.testAccuracy, r.seconds, r.imagesPerSecond))
        }
        if let last = history.last {
            print(String(format: "test accuracy %.2f%% after %d epochs (%.1f s this run); checkpoint %@, log %@",
                         100 * last.testAccuracy, last.epoch, Date().timeIntervalSince(started), checkpoint.path, log.path))
        }
    }
}
