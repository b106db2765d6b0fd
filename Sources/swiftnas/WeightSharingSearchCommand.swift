import ArgumentParser
import Foundation
import NASBench
import NASData
import NASExperiment
import NASNN
import NASSpaces
import NASTensor
import NASWeightSharing

/// `swiftnas search --space nb201|darts --strategy darts|darts2|spos|fewshot-darts|fewshot-spos|rlnas|mdenas|dnal`:
/// trains a supernet of the space on Fashion-MNIST, derives an architecture, and records it as
/// the search's `final` trial — on NAS-Bench-201 graded by the benchmark's table, on DARTS's
/// space (no table) with the method's own score (`search_score`) and its genotype verbatim.
enum WeightSharingSearchCLI {
    static func run(_ request: SearchRequest, method: WeightSharingMethod, benchmark: String?, store: String?,
                    data: String?, checkpoint: String?, quiet: Bool) throws {
        guard let space = SupernetSpace(rawValue: request.space) else {
            throw ValidationError("--strategy \(method.rawValue) searches --space nb201, darts or glit, not '\(request.space)'")
        }
        guard let data else {
            throw ValidationError("--strategy \(method.rawValue) trains a supernet: give --data <Fashion-MNIST IDX folder>")
        }
        let config = try WeightSharingConfig.defaults(for: method, space: space).overridden(request.hyperparameters)
        switch space {
        case .nb201:
            // Load the table first so a wrong path fails before the supernet trains.
            let estimator = NB201TabularEstimator(table: try NB201Table.load(explicit: benchmark))
            try NB201Search.checkMetrics(request)
            try search(request, method: method, space: space, config: config, estimator: estimator.name, store: store,
                       data: data, checkpoint: checkpoint, quiet: quiet) { result, _, configuration, trialStore in
                let runner = ExperimentRunner(space: NB201SearchSpace(), estimator: estimator,
                                              strategy: DerivedArchitectureStrategy(space: NB201SearchSpace(), architecture: result.cell),
                                              configuration: configuration, store: trialStore)
                let summary = try runner.run()
                print(SearchReport.text(summary, estimator: estimator))
                return summary
            }
        case .darts:
            try recordScore(request, method: method, space: space, config: config, benchmark: benchmark,
                            store: store, data: data, checkpoint: checkpoint, quiet: quiet) { _ in DARTSSearchSpace() }
        case .glit:
            // The space of the supernet the search trained: the same settings, the same data.
            try recordScore(request, method: method, space: space, config: config, benchmark: benchmark,
                            store: store, data: data, checkpoint: checkpoint, quiet: quiet) { d in
                GLiTSearchSpace(config: SupernetSpace.glitConfig(config, imageSize: d.imageSize, inputChannels: d.inputChannels,
                                                                 classes: d.classes))
            }
        }
    }

    /// A space without a table (DARTS's, GLiT's): the final trial records the method's own score
    /// (`search_score`) and the architecture in the space's notation.
    private static func recordScore<Space: SearchSpace & Codable>(_ request: SearchRequest, method: WeightSharingMethod, space: SupernetSpace,
                                                        config: WeightSharingConfig, benchmark: String?,
                                                        store: String?, data: String, checkpoint: String?, quiet: Bool,
                                                        searchSpace: @escaping (SupernetData) -> Space) throws
        where Space.Architecture == ArchitectureChoices {
        guard benchmark == nil else { throw ValidationError("--benchmark: the \(space.rawValue) space has no benchmark table") }
        let metric = SearchScoreEstimator<Space>.metric
        var request = request
        // The NAS-Bench-201 defaults do not apply; the one metric is the method's score.
        if request.objective == SearchRequest().objective { request.objective = metric }
        if request.report == SearchRequest().report { request.report = metric }
        for (flag, value) in [("--objective", request.objective), ("--report", request.report)] where value != metric {
            throw ValidationError("\(flag) \(value): a \(space.rawValue)-space search records only '\(metric)'")
        }
        try search(request, method: method, space: space, config: config, estimator: "supernet", store: store,
                   data: data, checkpoint: checkpoint, quiet: quiet) { result, supernetData, configuration, trialStore in
            let searchSpace = searchSpace(supernetData)
            let estimator = SearchScoreEstimator<Space>(architecture: result.architecture, score: result.score,
                                                        epochs: Double(result.epochsRun))
            let runner = ExperimentRunner(space: searchSpace, estimator: estimator,
                                          strategy: DerivedArchitectureStrategy(space: searchSpace, architecture: result.architecture),
                                          configuration: configuration, store: trialStore)
            let summary = try runner.run()
            print("\(space.notation): \(result.description)")
            print("\(metric) (\(result.scoreName)): \(String(format: "%.4f", result.score))")
            return summary
        }
    }

    /// What both spaces share: the checks before training, the supernet search (resumed from its
    /// checkpoint), the health log, recording the final trial (`record`), and the result line.
    private static func search(_ request: SearchRequest, method: WeightSharingMethod, space: SupernetSpace, config: WeightSharingConfig,
                               estimator: String, store: String?, data: String, checkpoint: String?, quiet: Bool,
                               record: (WeightSharingResult, SupernetData, ExperimentConfiguration, any TrialStore) throws -> ExperimentSummary) throws {
        // Everything the user can get wrong is checked before the supernet trains: the metrics,
        // and a store that is busy, foreign, or holds another experiment.
        let configuration = ExperimentConfiguration(
            space: request.space, strategy: method.rawValue, hyperparameters: try config.strings(), seed: request.seed,
            objective: request.objective, report: request.report, estimator: estimator, budget: Budget(queries: 1))
        let trialStore: any TrialStore = try store.map { try SQLiteTrialStore(path: $0) } ?? InMemoryTrialStore()
        if let stored = try trialStore.configuration(), stored != configuration {
            throw TrialStoreError.configurationMismatch(store: trialStore.location, differences: stored.differences(from: configuration))
        }
        let (train, _) = try loadDataSet(data, testFraction: 0.2, seed: request.seed)
        let supernetData = try SupernetData(train: train, config: config, seed: request.seed)
        let checkpointURL = (checkpoint ?? store.map { $0 + ".supernet.safetensors" }).map { URL(fileURLWithPath: $0) }

        let search = try WeightSharingSearch(method: method, space: space, config: config, seed: request.seed, data: supernetData,
                                             checkpoint: checkpointURL)
        // Collapse warnings reach the user even with --quiet.
        search.log = { line in
            if !quiet || line.hasPrefix("warning:") { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
        if !quiet {
            let shape: String
            switch space {
            case .nb201: shape = "C=\(config.channels) N=\(config.cellsPerStage)"
            case .darts: shape = "C=\(config.channels) layers=\(config.layers)"
            case .glit: shape = "dim=\(config.embedDim) depth=\(config.depth) heads=\(config.heads) patch=\(config.patch)"
            }
            FileHandle.standardError.write(Data(("\(method.rawValue) on \(space.rawValue): \(method.summary); \(shape) "
                + "\(config.imageSize)×\(config.imageSize), \(supernetData.weightHalf.count)+\(supernetData.archHalf.count) images, "
                + "\(config.epochs) epochs, \(Parallel.threadCount) threads\n").utf8))
        }
        let result = try search.run()
        if let store, !result.health.isEmpty {
            // The health check, one JSON line per monitored epoch, beside the store.
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            encoder.keyEncodingStrategy = .convertToSnakeCase
            let lines = try result.health.map { String(decoding: try encoder.encode(HealthLine($0)), as: UTF8.self) }
            try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: URL(fileURLWithPath: store + ".health.jsonl"))
        }
        let summary = try record(result, supernetData, configuration, trialStore)
        guard let final = summary.finalTrial, final.architecture == result.description else {
            throw ValidationError("the store \(store ?? "") holds another final architecture than this search derived; use a new store")
        }
        let reported = final.metrics[request.report].map { String(format: "%.2f", $0) } ?? "nan"

        print(String(format: "weight-sharing result: method=%@ seed=%llu %@=%@ %@=%@ supernet_epochs_run=%d search_seconds=%.1f collapse=%@",
                     method.rawValue, request.seed, space.notation, result.description, request.report, reported,
                     result.epochsRun, result.seconds, result.collapse ?? "none"))
    }
}

extension SupernetSpace {
    /// What users call an architecture of this space in its notation.
    var notation: String {
        switch self {
        case .nb201: return "cell"
        case .darts: return "genotype"
        case .glit: return "architecture"
        }
    }
}

/// One epoch of the health check as written to `<store>.health.jsonl` (the architecture in the space's notation).
private struct HealthLine: Encodable {
    var stage: String, epoch: Int, cell: String, parameterFreeShare: Double, validationAccuracy: Double, collapse: Bool
    init(_ h: EpochHealth) {
        stage = h.stage; epoch = h.epoch; cell = h.cell
        parameterFreeShare = h.parameterFreeShare; validationAccuracy = h.validationAccuracy; collapse = h.collapse
    }
}
