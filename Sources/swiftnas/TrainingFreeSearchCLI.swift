import ArgumentParser
import Foundation
import NASBench
import NASData
import NASEstimators
import NASExperiment
import NASSpaces
import NASStrategies
import NASTensor

/// `swiftnas search --strategy naswot`: scores random NB201 cells on one mini-batch of real
/// data with a zero-cost proxy, keeps the best, and optionally trains it — stored trial by trial.
enum TrainingFreeSearchCLI {
    struct Options {
        var data: String?
        var samples: Int
        var proxy: String
        var trainEpochs: Int
        var trainLimit: Int
        var channels: Int
        var cells: Int
        /// The chosen cell's training settings (epochs and seed are set from the flags).
        var recipe: TrainingConfig
        var quiet: Bool
    }

    /// The keys `--train-param` accepts.
    static let recipeKeys = ["batch_size", "lr", "momentum", "nesterov", "weight_decay", "schedule", "warmup_epochs",
                             "label_smoothing", "crop_padding", "flip", "cutout"]

    /// The recipe the chosen cell is trained with: NAS-Bench-201's schedule (SGD with Nesterov
    /// momentum, cosine annealing, weight decay 5·10⁻⁴) at batch 128 and peak learning rate 0.1
    /// (batch and rate chosen on tuning seeds by validation accuracy; docs/benchmarks.md), with the
    /// `--train-param` overrides applied.
    static func recipe(_ overrides: [String: String]) throws -> TrainingConfig {
        var c = NB201TrainingEstimator.benchmarkSchedule
        c.batchSize = 128
        c.learningRate = 0.1
        func number<T: LosslessStringConvertible>(_ key: String, _ text: String) throws -> T {
            guard let v = T(text) else { throw ValidationError("--train-param \(key)=\(text): not a number") }
            return v
        }
        func flag(_ key: String, _ text: String) throws -> Bool {
            guard let v = Bool(text) else { throw ValidationError("--train-param \(key)=\(text): expected true or false") }
            return v
        }
        for (key, text) in overrides.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "batch_size": c.batchSize = try number(key, text)
            case "lr": c.learningRate = try number(key, text)
            case "momentum": c.momentum = try number(key, text)
            case "nesterov": c.nesterov = try flag(key, text)
            case "weight_decay": c.weightDecay = try number(key, text)
            case "schedule": c.schedule = text
            case "warmup_epochs": c.warmupEpochs = try number(key, text)
            case "label_smoothing": c.labelSmoothing = try number(key, text)
            case "crop_padding": c.cropPadding = try number(key, text)
            case "flip": c.horizontalFlip = try flag(key, text)
            case "cutout": c.cutout = try number(key, text)
            default: throw ValidationError("--train-param has no key '\(key)'; the keys are \(recipeKeys.joined(separator: ", "))")
            }
        }
        if !["cosine", "step", "constant"].contains(c.schedule) {
            throw ValidationError("--train-param schedule=\(c.schedule): expected cosine, step or constant")
        }
        // Range checks need the epoch count, which comes later: check with the largest one allowed.
        var check = c
        check.epochs = 10_000
        do { try check.validate() } catch { throw ValidationError("--train-param: \(error)") }
        return c
    }

    /// One line of settings for the store's estimator description (a resumed search must match).
    static func describe(_ c: TrainingConfig) -> String {
        var parts = ["\(c.optimizer) lr \(c.learningRate) momentum \(c.momentum)\(c.nesterov ? " nesterov" : "")",
                     "batch \(c.batchSize)", "\(c.schedule)", "weight decay \(c.weightDecay)"]
        if c.warmupEpochs > 0 { parts.append("warm-up \(c.warmupEpochs) epochs") }
        if c.labelSmoothing > 0 { parts.append("label smoothing \(c.labelSmoothing)") }
        if c.cropPadding > 0 { parts.append("crop padding \(c.cropPadding)") }
        if c.horizontalFlip { parts.append("flips") }
        if c.cutout > 0 { parts.append("cutout \(c.cutout)") }
        return parts.joined(separator: ", ")
    }

    static func run(_ request: SearchRequest, options o: Options, benchmark: String?, store: String?) throws {
        guard let proxy = ZeroCostProxy(rawValue: o.proxy) else {
            throw SearchRequestError.unknownMetric(o.proxy, known: ZeroCostProxy.allCases.map(\.rawValue))
        }
        let dataPath = o.data ?? "/usr/share/datasets/fashion-mnist"
        let started = Stopwatch.now()
        let (fullTrain, fullTest) = try loadDataSet(dataPath, testFraction: 0.2, seed: request.seed)
        try checkNB201Input(fullTrain, dataPath)
        let (batch, labels) = proxyBatch(fullTrain, size: 128, seed: request.seed)
        // The chosen cell is also graded by the NAS-Bench-201 table (CIFAR-10 figures, for reference).
        let table = try NB201Table.load(explicit: benchmark)
        let network = NB201NetworkConfig(channels: o.channels, cellsPerStage: o.cells, inputChannels: fullTrain.channels,
                                         classes: max(fullTrain.classCount, fullTest.classCount))
        var trainer: NB201TrainingEstimator? = nil
        if o.trainEpochs > 0 {
            let stats = fullTrain.channelStatistics()
            // Sides divisible by 4 (28×28 Fashion-MNIST) go in as they are: the network's two
            // reductions halve them exactly. Others are zero-padded to 32×32.
            let native = fullTrain.height % 4 == 0 && fullTrain.width % 4 == 0
            func prepare(_ d: Dataset) -> Dataset {
                let n = d.normalized(mean: stats.mean, std: stats.std)
                return native || n.height == 32 ? n : n.padded(to: 32)
            }
            let limited = o.trainLimit > 0 ? fullTrain.prefix(o.trainLimit) : fullTrain
            let (train, valid) = prepare(limited).split(validationFraction: 0.1, seed: request.seed)
            var schedule = o.recipe
            schedule.seed = request.seed
            schedule.epochs = o.trainEpochs
            do { try schedule.validate() } catch { throw ValidationError("--train-param: \(error)") }
            trainer = NB201TrainingEstimator(network: network, training: schedule, train: train, validation: valid,
                                             test: prepare(fullTest))
            if !o.quiet {
                let bars = EpochProgressBars(label: "training epoch") { String(format: "loss %.3f, %.0f images/s", $0.loss, $0.imagesPerSecond) }
                trainer?.progress = { bars.update($0) }
            }
        }
        let loadSeconds = Stopwatch.seconds(since: started)
        let scoring = NB201NetworkConfig(channels: 16, cellsPerStage: 5, inputChannels: fullTrain.channels, classes: network.classes)
        let estimator = TrainingFreeEstimator(scorer: ZeroCostScorer(config: scoring, batch: batch, labels: labels),
                                              proxy: proxy, seed: request.seed, table: table, trainer: trainer)
        let trialStore: any TrialStore = try store.map { try SQLiteTrialStore(path: $0) } ?? InMemoryTrialStore()
        let training = o.trainEpochs > 0
            ? "trained \(o.trainEpochs) epochs on \(o.trainLimit > 0 ? "\(o.trainLimit)" : "all") images at C=\(o.channels), N=\(o.cells) (\(describe(o.recipe)))" : nil
        let runner = try TrainingFreeSearchSetup.runner(request, samples: o.samples, trainEpochs: o.trainEpochs, estimator: estimator,
                                                        dataDescription: (dataPath as NSString).lastPathComponent,
                                                        training: training, store: trialStore)
        var display = SearchProgressDisplay(reportMetric: runner.configuration.report)
        let summary = try runner.run { if !o.quiet { display.update($0) } }
        if !o.quiet { display.finish() }
        print(report(summary, table: table))
        print(phases(summary, loadSeconds: loadSeconds, totalSeconds: Stopwatch.seconds(since: started)))
    }

    /// Where the command's time went: reading the data, scoring cells, training the chosen one.
    /// Trials resumed from the store cost nothing now and are left out.
    static func phases(_ s: ExperimentSummary, loadSeconds: Double, totalSeconds: Double) -> String {
        let now = s.trials.dropFirst(s.resumedTrials).filter { $0.status == .complete }
        let scoring = now.filter { $0.fidelity == nil }
        let training = now.compactMap { $0.fidelity != nil ? $0.metrics["seconds"] : nil }.reduce(0, +)
        var parts = [String(format: "reading data %.1f s", loadSeconds),
                     String(format: "scoring %d cells %.1f s", scoring.count, scoring.map { $0.cost ?? 0 }.reduce(0, +))]
        if training > 0 { parts.append(String(format: "training and testing the chosen cell %.1f s", training)) }
        parts.append(String(format: "total %.1f s", totalSeconds))
        return "phases: " + parts.joined(separator: ", ")
    }

    static func report(_ s: ExperimentSummary, table: NB201Table) -> String {
        let c = s.configuration
        var lines = ["search: \(c.space) × \(c.strategy) × \(c.estimator), seed \(c.seed)",
                     String(format: "trials: %d (%d resumed from the store), %.2f s", s.queries, s.resumedTrials, s.seconds)]
        guard let chosen = s.finalTrial else { return lines.joined(separator: "\n") }
        lines.append("chosen: \(chosen.architecture)")
        var facts = [String(format: "%@ %.3f", c.objective, chosen.metrics[c.objective] ?? .nan)]
        if let cell = try? NB201Cell(parsing: chosen.architecture) {
            facts.append("arch index \(table.index(of: cell))")
            for m in ["nats_c10_test_200", "nats_c100_test_200", "nats_in16_test_200"] {
                if let v = chosen.metrics[m] { facts.append(String(format: "%@ %.2f", m, v)) }
            }
        }
        lines.append("  " + facts.joined(separator: "; "))
        if let test = chosen.metrics["test_accuracy"], let valid = chosen.metrics["valid_accuracy"] {
            lines.append(String(format: "  trained %d epochs: validation %.2f%%, test %.2f%%, %.0f parameters, %.1f M multiply-adds, %.1f s",
                                chosen.fidelity ?? 0, valid, test, chosen.metrics["params"] ?? 0,
                                (chosen.metrics["flops"] ?? 0) / 1e6, chosen.metrics["seconds"] ?? 0))
        }
        return lines.joined(separator: "\n")
    }
}
