import ArgumentParser
import Foundation
import NASData
import NASEstimators
import NASNN
import NASTensor

/// `swiftnas ln-training`: the Pre-LN vs Post-LN training sweep of Xiong et al. (2020).
struct LayerNormTrainingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ln-training",
        abstract: "Pre-LN vs Post-LN ViTs trained with Adam, with and without warm-up, over learning rates and seeds.",
        discussion: """
        Every combination of --lrs × {Post-LN, Pre-LN} × {no warm-up, --warmup-epochs of linear warm-up} × \
        --seeds trains a ViT (--depth, --dim, --heads, --patch, MLP ratio 4) from scratch with Adam at a \
        constant learning rate for --epochs on --train-images Fashion-MNIST training images, and is \
        scored on --test-images test images. A run whose loss stops being finite is reported as \
        diverged. Writes <out>/runs.csv (every run's last-epoch training loss and test accuracy), <out>/losses.csv (every batch's \
        loss) and <out>/losses_lr<lr>.svg (seed-mean loss curves, one file per learning rate).
        """)

    @Option(help: "Fashion-MNIST IDX folder.") var data: String
    @Option(help: "Output folder.") var out: String
    @Option(help: "Peak learning rates, comma-separated.") var lrs = "5e-4,1e-3,2e-3"
    @Option(help: "Seeds, comma-separated.") var seeds = "0,1,2"
    @Option(help: "Blocks.") var depth = 6
    @Option(help: "Token width.") var dim = 64
    @Option(help: "Attention heads.") var heads = 4
    @Option(help: "Patch side.") var patch = 4
    @Option(help: "Training epochs.") var epochs = 3
    @Option(name: .customLong("warmup-epochs"), help: "Warm-up epochs of the warm-up arm.") var warmupEpochs = 1
    @Option(name: .customLong("batch-size")) var batchSize = 64
    @Option(name: .customLong("train-images")) var trainImages = 10_000
    @Option(name: .customLong("test-images")) var testImages = 10_000

    func run() throws {
        let rates: [Float] = try commaSeparated(lrs, "--lrs")
        let seedList: [UInt64] = try commaSeparated(seeds, "--seeds")
        guard rates.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw ValidationError("--lrs must be positive") }
        try validateCounts([("--epochs", epochs, 1), ("--batch-size", batchSize, 1), ("--warmup-epochs", warmupEpochs, 1)])
        guard warmupEpochs < epochs else { throw ValidationError("--warmup-epochs must be below --epochs") }
        let (train, test) = try firstImagesNormalized(data, trainImages: trainImages, testImages: testImages)
        var config = ViTConfig(height: train.height, width: train.width, channels: train.channels, classes: train.classCount)
        (config.depth, config.dim, config.heads, config.patch) = (depth, dim, heads, patch)
        if let problem = config.problem { throw ValidationError(problem) }
        try makeOutputFolder(out, flag: "--out")

        var settings: [LayerNormTrainingStudy.Setting] = []
        for lr in rates {
            for normFirst in [false, true] {
                for warm in [0, warmupEpochs] {
                    for seed in seedList { settings.append(.init(learningRate: lr, normFirst: normFirst, warmupEpochs: warm, seed: seed)) }
                }
            }
        }
        print("ViT depth \(depth), width \(dim), \(heads) heads, patch \(patch); \(trainImages) training / \(testImages) test images, "
              + "\(epochs) epochs, batch \(batchSize), Adam at a constant rate (warm-up arm: \(warmupEpochs) epoch(s) linear); \(settings.count) runs")
        var runs: [LayerNormTrainingStudy.Run] = []
        for (i, s) in settings.enumerated() {
            let start = Date()
            let r = try LayerNormTrainingStudy.train(s, model: config, epochs: epochs, batchSize: batchSize, train: train, test: test)
            runs.append(r)
            print(String(format: "run %2d/%d  lr %g  %@  seed %d  test %@  %.0f s", i + 1, settings.count, s.learningRate, s.label, s.seed,
                         r.testAccuracy.map { String(format: "%.2f%%", $0) } ?? "diverged", Date().timeIntervalSince(start)))
        }

        var runsCSV = "learning_rate,norm,warmup_epochs,seed,last_epoch_train_loss,test_accuracy\n"
        var lossCSV = "learning_rate,norm,warmup_epochs,seed,batch,loss\n"
        for r in runs {
            let s = r.setting, key = "\(s.learningRate),\(s.normFirst ? "pre" : "post"),\(s.warmupEpochs),\(s.seed)"
            runsCSV += "\(key),\(r.finalTrainLoss.map { "\($0)" } ?? "diverged"),\(r.testAccuracy.map { "\($0)" } ?? "diverged")\n"
            for (b, l) in r.batchLosses.enumerated() { lossCSV += "\(key),\(b + 1),\(l)\n" }
        }
        try AtomicFile.write(runsCSV, to: URL(fileURLWithPath: out + "/runs.csv"))
        try AtomicFile.write(lossCSV, to: URL(fileURLWithPath: out + "/losses.csv"))

        let arms: [(normFirst: Bool, warm: Int, color: String, dashed: Bool)] =
            [(false, 0, "#d62728", false), (false, warmupEpochs, "#d62728", true), (true, 0, "#1f77b4", false), (true, warmupEpochs, "#1f77b4", true)]
        print("")
        print("Test accuracy (%), mean ± sd over seeds \(seeds) (diverged runs counted apart):")
        print("| learning rate | " + arms.map { LayerNormTrainingStudy.Setting(learningRate: 0, normFirst: $0.normFirst, warmupEpochs: $0.warm, seed: 0).label }
            .joined(separator: " | ") + " |")
        print("|---|---|---|---|---|")
        for lr in rates {
            var row = "| \(lr) |"
            var plot = LinePlot(title: "ViT on Fashion-MNIST, Adam lr \(lr): training loss (mean over seeds, smoothed)",
                                xLabel: "batch", yLabel: "cross-entropy")
            for arm in arms {
                let group = runs.filter { $0.setting.learningRate == lr && $0.setting.normFirst == arm.normFirst && $0.setting.warmupEpochs == arm.warm }
                let accuracies = group.compactMap(\.testAccuracy)
                let diverged = group.count - accuracies.count
                row += accuracies.isEmpty ? " diverged |" : String(format: " %.2f ± %.2f%@ |", mean(accuracies), sampleStandardDeviation(accuracies),
                                                                   diverged > 0 ? " (\(diverged) diverged)" : "")
                let steps = group.map(\.batchLosses.count).min() ?? 0
                var smoothed = 0.0
                let points = (0..<steps).map { b -> (x: Double, y: Double) in
                    let m = mean(group.map { $0.batchLosses[b] })
                    smoothed = b == 0 ? m : 0.9 * smoothed + 0.1 * m
                    return (Double(b + 1), smoothed)
                }
                plot.series.append(.init(label: LayerNormTrainingStudy.Setting(learningRate: lr, normFirst: arm.normFirst, warmupEpochs: arm.warm, seed: 0).label,
                                         color: arm.color, dashed: arm.dashed, points: points))
            }
            print(row)
            try AtomicFile.write(plot.svg(), to: URL(fileURLWithPath: out + "/losses_lr\(lr).svg"))
        }
        print("wrote \(out)/runs.csv, losses.csv, losses_lr*.svg")
    }
}
