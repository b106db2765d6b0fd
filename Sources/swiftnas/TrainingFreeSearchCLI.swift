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
        var quiet: Bool
    }

    static func run(_ request: SearchRequest, options o: Options, benchmark: String?, store: String?) throws {
        guard let proxy = ZeroCostProxy(rawValue: o.proxy) else {
            throw SearchRequestError.unknownMetric(o.proxy, known: ZeroCostProxy.allCases.map(\.rawValue))
        }
        let dataPath = o.data ?? "/usr/share/datasets/fashion-mnist"
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
            func prepare(_ d: Dataset) -> Dataset {
                let n = d.normalized(mean: stats.mean, std: stats.std)
                return n.height < 32 ? n.padded(to: 32) : n
            }
            let limited = o.trainLimit > 0 ? fullTrain.prefix(o.trainLimit) : fullTrain
            let (train, valid) = prepare(limited).split(validationFraction: 0.1, seed: request.seed)
            var schedule = NB201TrainingEstimator.benchmarkSchedule
            schedule.seed = request.seed
            trainer = NB201TrainingEstimator(network: network, training: schedule, train: train, validation: valid,
                                             test: prepare(fullTest))
        }
        let scoring = NB201NetworkConfig(channels: 16, cellsPerStage: 5, inputChannels: fullTrain.channels, classes: network.classes)
        let estimator = TrainingFreeEstimator(scorer: ZeroCostScorer(config: scoring, batch: batch, labels: labels),
                                              proxy: proxy, seed: request.seed, table: table, trainer: trainer)
        let trialStore: any TrialStore = try store.map { try SQLiteTrialStore(path: $0) } ?? InMemoryTrialStore()
        let training = o.trainEpochs > 0
            ? "trained \(o.trainEpochs) epochs on \(o.trainLimit > 0 ? "\(o.trainLimit)" : "all") images at C=\(o.channels), N=\(o.cells)" : nil
        let runner = try TrainingFreeSearchSetup.runner(request, samples: o.samples, trainEpochs: o.trainEpochs, estimator: estimator,
                                                        dataDescription: (dataPath as NSString).lastPathComponent,
                                                        training: training, store: trialStore)
        var display = SearchProgressDisplay(reportMetric: runner.configuration.report)
        let summary = try runner.run { if !o.quiet { display.update($0) } }
        if !o.quiet { display.finish() }
        print(report(summary, table: table))
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
