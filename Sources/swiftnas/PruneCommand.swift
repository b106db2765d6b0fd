import ArgumentParser
import Foundation
import NASData
import NASEstimators
import NASNN
import NASSpaces
import NASTensor
import NASWeightSharing

/// `swiftnas prune`: gradient-based architecture pruning for transfer — a wide CNN trained on a
/// large source task, its channels selected by the two-temperature relaxation, and the selected
/// structure retrained from scratch on a small target task beside magnitude pruning and a random
/// structure of the same size.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Select a sub-architecture on a source task by relaxed channel selection and retrain it on a target task.",
        discussion: """
        1. A CNN with --widths (3×3 conv + BN + ReLU blocks, max pooling after every second) is trained on \
        --source (an IDX folder, e.g. Fashion-MNIST's 60,000 images) for --source-epochs with Adam; \
        <out>/source.safetensors is its checkpoint, resumed when the command is run again.
        2. With its weights fixed, one logit per channel is trained for --steps batches of the source images \
        to minimise cross-entropy + --penalty × expected size ÷ full size, each gate σ((α + τn·logistic noise)/τs) \
        with the noise temperature τn and the sharpness τs annealed geometrically (--noise, --sharpness: start,end). \
        Channels with a positive logit are kept. Written to <out>/selection.json.
        3. On --target (a CSV of 28×28 digits such as mnist_5k.csv.gz), --target-train images (drawn by --seed) \
        train, the rest test. The selected widths, magnitude pruning's (filter L1 norms, one global threshold, \
        the same size) and a random structure of the same size (± 5 %) are each trained from scratch for \
        --target-epochs per seed in --seeds (Adam 2e-3, cosine, batch 64) and scored on every held-out image; <out>/results.csv gets one row per (structure, seed) as it \
        finishes, and a rerun skips the rows already there.
        """)

    @Option(help: "Source task: an IDX image folder.") var source = "/usr/share/datasets/fashion-mnist"
    @Option(help: "Target task: a CSV of images (label last), e.g. mnist_5k.csv.gz.") var target: String
    @Option(help: "Output folder.") var out = "runs/prune"
    @Option(help: "Widths of the convolution blocks, comma-separated.") var widths = "32,32,64,64"
    @Option(name: .customLong("source-epochs"), help: "Source training epochs.") var sourceEpochs = 2
    @Option(name: .customLong("source-limit"), help: "Use only the first N source training images (0: all).") var sourceLimit = 0
    @Option(help: "Selection steps (batches of 128 source images).") var steps = 300
    @Option(help: "Weight of the relative expected size in the selection objective.") var penalty: Float = 1
    @Option(help: "Noise temperature τn: start,end.") var noise = "1,0.05"
    @Option(help: "Sharpness temperature τs: start,end.") var sharpness = "1,0.05"
    @Option(name: .customLong("target-train"), help: "Target images to train on; the rest are held out.") var targetTrain = 500
    @Option(name: .customLong("target-epochs"), help: "Target training epochs.") var targetEpochs = 30
    @Option(help: "Seeds of the target retraining, comma-separated.") var seeds = "0,1,2"
    @Option(help: "Seed of the source training, the selection's noise and the target split.") var seed: UInt64 = 0
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func validate() throws {
        let w: [Int] = try commaSeparated(widths, "--widths")
        guard !w.isEmpty, w.count <= 16, w.allSatisfy({ (1...1024).contains($0) }) else {
            throw ValidationError("--widths must be 1 to 16 widths in 1…1024 (got \(widths))")
        }
        try validateCounts([("--source-epochs", sourceEpochs, 1), ("--steps", steps, 1), ("--target-train", targetTrain, 1),
                            ("--target-epochs", targetEpochs, 1), ("--source-limit", sourceLimit, 0)])
        for (flag, text) in [("--noise", noise), ("--sharpness", sharpness)] {
            let t: [Float] = try commaSeparated(text, flag)
            guard t.count == 2, t.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw ValidationError("\(flag) needs two positive numbers start,end (got \(text))") }
        }
        let s: [UInt64] = try commaSeparated(seeds, "--seeds")
        guard !s.isEmpty else { throw ValidationError("--seeds needs at least one seed") }
        if let threads { try validateThreads(threads) }
        try selection().validate()
    }

    func selection() throws -> ChannelSelection {
        var s = ChannelSelection()
        (s.steps, s.penalty, s.seed) = (steps, penalty, seed)
        s.noiseTemperature = try commaSeparated(noise, "--noise")
        s.sharpness = try commaSeparated(sharpness, "--sharpness")
        return s
    }

    struct Selected: Codable, Equatable {
        var source: String
        var selection: ChannelSelection
        var logits: [[Float]]
        var widths: [String: [Int]]
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let full: [Int] = try commaSeparated(widths, "--widths")
        try makeOutputFolder(out, flag: "--out")
        let outDir = URL(fileURLWithPath: out)

        // 1. Source training (resumable through its checkpoint).
        var (sourceTrain, sourceTest) = try loadDataSet(source, testFraction: 0.2, seed: seed)
        if sourceLimit > 0 { sourceTrain = sourceTrain.prefix(sourceLimit) }
        let stats = sourceTrain.channelStatistics()
        sourceTrain = sourceTrain.normalized(mean: stats.mean, std: stats.std)
        sourceTest = sourceTest.normalized(mean: stats.mean, std: stats.std)
        let classes = max(sourceTrain.classCount, sourceTest.classCount)
        let model = PrunableCNN(widths: full, inputChannels: sourceTrain.channels, classes: classes, seed: seed)
        var recipe = TrainingConfig()
        (recipe.epochs, recipe.batchSize, recipe.learningRate, recipe.seed) = (sourceEpochs, 128, 2e-3, seed)
        let trainer = try Trainer(model: model, config: recipe, train: sourceTrain, test: sourceTest)
        let started = Date()
        let history = try trainer.run(checkpoint: outDir.appendingPathComponent("source.safetensors"), resume: true)
        let sourceAccuracy = 100 * (history.last?.testAccuracy ?? .nan)
        print(String(format: "source: widths %@, %d parameters, %d images, test accuracy %.2f%% (%.0f s)", widths,
                     model.parameterCount, sourceTrain.count, sourceAccuracy, Date().timeIntervalSince(started)))

        // 2. Selection (written once; a rerun with the same settings reads it back).
        let selectionFile = outDir.appendingPathComponent("selection.json")
        let method = try selection()
        let sourceName = "\(source) ×\(sourceTrain.count), widths \(widths), \(sourceEpochs) epochs, seed \(seed)"
        var selected: Selected
        if let data = try? Data(contentsOf: selectionFile) {
            guard let stored = try? JSONDecoder().decode(Selected.self, from: data) else {
                throw ValidationError("\(selectionFile.path) is not a selection file; remove it to select again")
            }
            guard stored.source == sourceName, stored.selection == method else {
                throw ValidationError("\(selectionFile.path) was made with other settings (\(stored.source)); use another --out")
            }
            selected = stored
            print("selection: read from \(selectionFile.path)")
        } else {
            let t = Date()
            var bar: ProgressBar? = ProgressBar(total: steps, label: "selection")
            let logits = try method.run(model, on: sourceTrain) { step, loss in bar?.update(step + 1, String(format: "objective %.4f", loss)) }
            bar?.finish()
            bar = nil
            let pruned = ChannelSelection.widths(fromLogits: logits)
            let size = PrunableCNN.parameterCount(widths: pruned, inputChannels: sourceTrain.channels, classes: classes)
            selected = Selected(source: sourceName, selection: method, logits: logits, widths: [
                "selected": pruned,
                "magnitude": PruningBaselines.magnitudeWidths(model, targetParameters: size, inputChannels: sourceTrain.channels, classes: classes),
                "random": PruningBaselines.randomWidths(full: full, targetParameters: size, inputChannels: sourceTrain.channels,
                                                        classes: classes, seed: seed),
            ])
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try AtomicFile.write(try encoder.encode(selected), to: selectionFile)
            print(String(format: "selection: %.0f s", Date().timeIntervalSince(t)))
        }
        for name in ["selected", "magnitude", "random"] {
            let w = selected.widths[name] ?? []
            print("\(name): widths \(w.map(String.init).joined(separator: ",")), \(PrunableCNN.parameterCount(widths: w, inputChannels: sourceTrain.channels, classes: classes)) parameters")
        }

        // 3. Target retraining from scratch, one results row per (structure, seed).
        let all = try DatasetReader.csv(target)
        guard all.channels == sourceTrain.channels else {
            throw DataError(file: target, "\(all.channels)-channel images; the source task's have \(sourceTrain.channels)")
        }
        guard all.count > targetTrain else { throw DataError(file: target, "\(all.count) images: --target-train \(targetTrain) leaves none to test on") }
        var order = Array(0..<all.count)
        var rng = SeededGenerator(seed: seed)
        order.seededShuffle(using: &rng)
        var targetTrainSet = all.subset(Array(order[..<targetTrain])), targetTest = all.subset(Array(order[targetTrain...]))
        let targetStats = targetTrainSet.channelStatistics()
        targetTrainSet = targetTrainSet.normalized(mean: targetStats.mean, std: targetStats.std)
        targetTest = targetTest.normalized(mean: targetStats.mean, std: targetStats.std)
        let resultsFile = outDir.appendingPathComponent("results.csv")
        var rows = (try? String(contentsOf: resultsFile, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
        if rows.first != "structure,seed,widths,parameters,test_accuracy" { rows = ["structure,seed,widths,parameters,test_accuracy"] }
        let seedList: [UInt64] = try commaSeparated(seeds, "--seeds")
        for name in ["selected", "magnitude", "random"] {
            let w = selected.widths[name] ?? []
            for s in seedList {
                let key = "\(name),\(s),"
                if rows.contains(where: { $0.hasPrefix(key) }) { continue }
                var config = TrainingConfig()
                (config.epochs, config.batchSize, config.learningRate, config.seed) = (targetEpochs, 64, 2e-3, s)
                let net = PrunableCNN(widths: w, inputChannels: all.channels, classes: max(all.classCount, classes), seed: s)
                // The per-epoch score reads a 500-image sample; the reported one, every held-out image.
                let t = try Trainer(model: net, config: config, train: targetTrainSet, test: targetTest.prefix(500))
                try t.run()
                let accuracy = 100 * Trainer.evaluate(net, on: targetTest).accuracy
                rows.append("\(key)\(w.map(String.init).joined(separator: " ")),\(net.parameterCount),\(String(format: "%.2f", accuracy))")
                try AtomicFile.write(Data((rows.joined(separator: "\n") + "\n").utf8), to: resultsFile)
                print(String(format: "%@ seed %d: target test accuracy %.2f%%", name, s, accuracy))
            }
        }
        for name in ["selected", "magnitude", "random"] {
            let values = rows.filter { $0.hasPrefix(name + ",") }.compactMap { $0.split(separator: ",").last.flatMap { Double($0) } }
            print(String(format: "%@: mean target test accuracy %.2f%% ± %.2f over %d seeds", name, mean(values), sampleStandardDeviation(values), values.count))
        }
    }
}
