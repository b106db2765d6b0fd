import ArgumentParser
import Foundation
import NASData
import NASEstimators
import NASExperiment
import NASNN
import NASSpaces
import NASStrategies
import NASTensor

/// `swiftnas nago`: NAGO — Bayesian optimisation over the hierarchical random-graph generator's
/// parameters, each trial training one sampled network on a Fashion-MNIST subset. The search is
/// `NAGOSpace` × a strategy × `NAGOTrainingEstimator` run against a trial store, like
/// `swiftnas search`.
struct NAGOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nago",
        abstract: "NAGO: Bayesian optimisation of a hierarchical random-graph network generator (Pareto front of accuracy vs parameters).",
        discussion: """
        Each trial asks the strategy for generator parameters and a network seed, samples that one network, \
        trains it for --epochs on --train-images Fashion-MNIST images (average-pooled to --size × --size), \
        and reports its accuracy on --valid-images validation images carved from the other training images; \
        the strategy and the Pareto front see only that validation accuracy. The Fashion-MNIST \
        test images are used once, at the end: each network on the front is trained again \
        (deterministically, from its seed) and scored on --test-images of them. Every trial is \
        committed to the trial store (--store, default <out>/trials.sqlite) as it is asked and \
        told; running the same command again after a kill or Ctrl-C resumes the search exactly. \
        --strategy random or rea runs the black-box baselines on the same space. Outputs: \
        <out>/trials.csv, <out>/pareto.csv (with the front's test accuracy) and <out>/pareto.svg \
        (validation accuracy against parameter count, front highlighted).
        """)

    @Option(help: "Fashion-MNIST IDX folder.") var data: String
    @Option(help: "Output folder.") var out: String
    @Option(help: "Trial store (SQLite); default <out>/trials.sqlite.") var store: String?
    @Option(help: "Strategy: \(NAGOSearchSetup.strategies.joined(separator: ", ")).") var strategy = "nago"
    @Option(name: .customLong("param"), help: ArgumentHelp("Strategy hyper-parameter key=value (repeatable), e.g. initial_samples=8.", valueName: "key=value"))
    var params: [String] = []
    @Option(help: "Stop starting trials after this many minutes (summed over resumed runs).") var minutes: Double = 12
    @Option(help: "Stop after this many trials in total.") var trials: Int = 1000
    @Option(help: "Seed of the strategy, the data subset and the networks.") var seed: UInt64 = 0
    @Option(name: .customLong("train-images")) var trainImages = 3000
    @Option(name: .customLong("valid-images"), help: "Validation images, from the training images not trained on.")
    var validImages = 1000
    @Option(name: .customLong("test-images"), help: "Test images the front is reported on.") var testImages = 1000
    @Option(help: "Image side after average pooling (28 or 14).") var size = 14
    @Option(help: "Training epochs per trial.") var epochs = 2
    @Option(name: .customLong("batch-size")) var batchSize = 64
    @Option(name: .customLong("learning-rate")) var learningRate: Float = 0.003
    @Flag(help: "Single objective (accuracy only) instead of the Pareto search (strategy nago only).") var singleObjective = false

    func run() throws {
        guard size == 28 || size == 14 else { throw ValidationError("--size must be 28 or 14") }
        guard trainImages >= 1, validImages >= 1, testImages >= 1 else {
            throw ValidationError("--train-images, --valid-images and --test-images must be positive")
        }
        guard minutes.isFinite, minutes > 0, trials >= 1 else { throw ValidationError("--minutes and --trials must be positive") }
        var overrides = try keyValueOverrides(params)
        if singleObjective {
            guard strategy == "nago" else { throw ValidationError("--single-objective applies to --strategy nago only") }
            overrides["multi_objective"] = "false"
        }
        // A strategy or hyper-parameter that does not fit fails before any data is read.
        _ = try NAGOSearchSetup.strategy(strategy, overrides: overrides, space: NAGOSpace(), seed: seed)
        let (fullTrain, fullTest) = try DatasetReader.idxDirectory(data)
        guard fullTrain.count >= trainImages + validImages else {
            throw ValidationError("--train-images \(trainImages) + --valid-images \(validImages) exceed the \(fullTrain.count) training images of \(data)")
        }
        var subsetRNG = SeededGenerator(seed: seed ^ 0xDA7A)
        // One shuffle of the training images: the first part trains, the next validates.
        let shuffled = Self.randomSubset(fullTrain.count, fullTrain.count, &subsetRNG, sorted: false)
        let train = Self.pooled(fullTrain.subset(shuffled.prefix(trainImages).sorted()), to: size)
        let valid = Self.pooled(fullTrain.subset(shuffled.dropFirst(trainImages).prefix(validImages).sorted()), to: size)
        let test = Self.pooled(fullTest.subset(Self.randomSubset(fullTest.count, testImages, &subsetRNG)), to: size)
        let stats = train.channelStatistics()
        let trainSet = train.normalized(mean: stats.mean, std: stats.std)
        let validSet = valid.normalized(mean: stats.mean, std: stats.std)
        let testSet = test.normalized(mean: stats.mean, std: stats.std)

        try makeOutputFolder(out, flag: "--out")
        let space = NAGOSpace(inputChannels: trainSet.channels, classes: trainSet.classCount)
        let estimator = try NAGOTrainingEstimator(
            space: space, training: NAGOTrainingEstimator.recipe(epochs: epochs, batchSize: batchSize, learningRate: learningRate),
            train: trainSet, validation: validSet)
        let recipe = "\(trainSet.count) training / \(validSet.count) validation Fashion-MNIST images at \(size)×\(size), "
            + "\(epochs) epochs, batch \(batchSize), Adam lr \(learningRate)"
        let storePath = store ?? out + "/trials.sqlite"
        let runner = try NAGOSearchSetup.runner(
            strategy: strategy, overrides: overrides, seed: seed, budget: Budget(queries: trials, seconds: minutes * 60),
            space: space, estimator: estimator, estimatorDescription: "\(estimator.name) on \(recipe)",
            store: try SQLiteTrialStore(path: storePath))
        emit("NAGO (\(strategy)) on \(recipe); budget \(minutes) min or \(trials) trials; store \(storePath)")
        let summary = try runner.run { p in
            let t = p.trial
            guard let d = try? space.network(of: space.parse(t.architecture)) else { return }
            emit(String(format: "trial %3d  valid %.2f%%  params %7.0f  stages %d  cells %d  nodes %d  %.1f s",
                        t.number + 1, t.objective ?? .nan, t.metrics["params"] ?? .nan, d.top.nodeCount,
                        d.mid.reduce(0) { $0 + $1.nodeCount },
                        d.bottom.reduce(0) { $0 + $1.reduce(0) { $0 + $1.nodeCount } }, t.seconds))
        }
        if summary.resumedTrials > 0 { emit("resumed \(summary.resumedTrials) trials from \(storePath)") }
        let all = try NAGOSearchSetup.frontTrials(summary.trials, space: space)
        let front = NAGOBayesianOptimisation.paretoFront(all)
        var csv = "trial,valid_accuracy,parameters,pareto,seed," + NAGOParameters.names.joined(separator: ",") + "\n"
        for (i, t) in all.enumerated() {
            csv += "\(i + 1),\(t.objective),\(t.parameterCount),\(front.contains(i) ? 1 : 0),\(t.architecture.networkSeed),"
                + t.architecture.parameters.values.map { String(format: "%.4f", $0) }.joined(separator: ",") + "\n"
        }
        try AtomicFile.write(csv, to: URL(fileURLWithPath: out + "/trials.csv"))
        var paretoCSV = "trial,valid_accuracy,test_accuracy,parameters\n"
        emit("")
        emit("Pareto front (validation accuracy vs parameters), \(front.count) of \(all.count) trials; "
             + "each front network trained again and scored once on \(testSet.count) test images:")
        emit("| trial | validation accuracy | test accuracy | parameters |")
        emit("|---|---|---|---|")
        for i in front {
            try StopRequest.check()
            let t = all[i]
            let testAccuracy = 100 * (try estimator.trained(t.architecture)).evaluate(testSet).accuracy
            paretoCSV += "\(i + 1),\(t.objective),\(testAccuracy),\(t.parameterCount)\n"
            emit(String(format: "| %d | %.2f%% | %.2f%% | %d |", i + 1, t.objective, testAccuracy, t.parameterCount))
        }
        try AtomicFile.write(paretoCSV, to: URL(fileURLWithPath: out + "/pareto.csv"))
        try AtomicFile.write(ParetoPlot.svg(points: all.map { ($0.parameterCount, $0.objective) }, front: front,
                                            title: "NAGO on Fashion-MNIST: validation accuracy vs parameters"),
                             to: URL(fileURLWithPath: out + "/pareto.svg"))
        emit("wrote \(out)/pareto.svg, pareto.csv, trials.csv")
        emit("nago_pareto_points=\(front.count)")
    }

    static func randomSubset(_ n: Int, _ k: Int, _ rng: inout SeededGenerator, sorted: Bool = true) -> [Int] {
        var idx = Array(0..<n)
        for i in 0..<min(k, n) { idx.swapAt(i, i + rng.uniformIndex(below: n - i)) }
        let picked = Array(idx.prefix(min(k, n)))
        return sorted ? picked.sorted() : picked
    }

    /// 2×2 average pooling of 28×28 images down to 14×14 (or the images unchanged at 28).
    static func pooled(_ d: Dataset, to size: Int) -> Dataset {
        guard size != d.height, d.height == 2 * size, d.width == 2 * size, d.channels == 1 else { return d }
        var images = [Float](repeating: 0, count: d.count * size * size)
        for n in 0..<d.count {
            for y in 0..<size {
                for x in 0..<size {
                    var s: Float = 0
                    for dy in 0..<2 { for dx in 0..<2 { s += d.images[n * d.imageSize + (2 * y + dy) * d.width + 2 * x + dx] } }
                    images[(n * size + y) * size + x] = s / 4
                }
            }
        }
        return Dataset(images: images, labels: d.labels, height: size, width: size, channels: 1, classCount: d.classCount)
    }
}

/// A hand-written SVG scatter plot: accuracy (y) against parameter count (x, log scale), every
/// trial as a grey dot, the Pareto front as a connected red staircase.
enum ParetoPlot {
    static func svg(points: [(Int, Double)], front: [Int], title: String) -> String {
        let w = 640.0, h = 420.0, left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
        let xs = points.map { Foundation.log10(Double(max($0.0, 1))) }
        let ys = points.map { 100 * $0.1 }
        let xLow = (xs.min() ?? 0) - 0.05, xHigh = (xs.max() ?? 1) + 0.05
        let yLow = Foundation.floor((ys.min() ?? 0) - 1), yHigh = Foundation.ceil((ys.max() ?? 100) + 1)
        func px(_ x: Double) -> Double { left + (x - xLow) / max(xHigh - xLow, 1e-9) * (w - left - right) }
        func py(_ y: Double) -> Double { h - bottom - (y - yLow) / max(yHigh - yLow, 1e-9) * (h - top - bottom) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(w / 2)\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">\(title)</text>\n"
        s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left, h - bottom, w - right, h - bottom)
        s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left, top, left, h - bottom)
        // x ticks at 1, 2, 5 × powers of ten.
        var decade = Foundation.pow(10, Foundation.floor(xLow))
        while Foundation.log10(decade) <= xHigh {
            for m in [1.0, 2.0, 5.0] {
                let v = decade * m, lx = Foundation.log10(v)
                guard lx >= xLow, lx <= xHigh else { continue }
                let label = v >= 1_000_000 ? String(format: "%gM", v / 1_000_000) : v >= 1000 ? String(format: "%gk", v / 1000) : String(format: "%g", v)
                s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>", px(lx), h - bottom, px(lx), h - bottom + 5)
                s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", px(lx), h - bottom + 18, label)
            }
            decade *= 10
        }
        var yt = yLow
        let yStep = max(1, Foundation.ceil((yHigh - yLow) / 8))
        while yt <= yHigh {
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", left, py(yt), w - right, py(yt))
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", left - 6, py(yt) + 4, yt)
            yt += yStep
        }
        s += "<text x=\"\(w / 2)\" y=\"\(h - 10)\" text-anchor=\"middle\">parameters (log scale)</text>\n"
        s += String(format: "<text x=\"16\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 16 %.1f)\">validation accuracy (%%)</text>\n",
                    h / 2, h / 2)
        for (x, y) in zip(xs, ys) {
            s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#999\"/>\n", px(x), py(y))
        }
        var path = ""
        for (k, i) in front.enumerated() {
            let x = px(xs[i]), y = py(ys[i])
            if k == 0 { path += String(format: "M %.1f %.1f", x, y) } else {
                path += String(format: " H %.1f V %.1f", x, y)
            }
        }
        if !path.isEmpty { s += "<path d=\"\(path)\" fill=\"none\" stroke=\"#c00\" stroke-width=\"1.5\"/>\n" }
        for i in front {
            s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"#c00\"/>\n", px(xs[i]), py(ys[i]))
        }
        s += "</svg>\n"
        return s
    }
}
