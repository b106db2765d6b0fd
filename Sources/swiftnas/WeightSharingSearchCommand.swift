import ArgumentParser
import Foundation
import NASBench
import NASData
import NASExperiment
import NASSpaces
import NASTensor
import NASWeightSharing

/// `swiftnas search --strategy darts|darts2|spos|fewshot-darts|fewshot-spos|rlnas|mdenas|dnal`:
/// trains a NAS-Bench-201 supernet on Fashion-MNIST, derives a cell, and records it as the
/// search's `final` trial, graded by the NAS-Bench-201 table.
enum WeightSharingSearchCLI {
    static func run(_ request: SearchRequest, method: WeightSharingMethod, benchmark: String?, store: String?,
                    data: String?, checkpoint: String?, quiet: Bool) throws {
        guard request.space == "nb201" else { throw SearchRequestError.unknownSpace(request.space) }
        guard let data else {
            throw ValidationError("--strategy \(method.rawValue) trains a supernet: give --data <Fashion-MNIST IDX folder>")
        }
        let config = try WeightSharingConfig.defaults(for: method).overridden(request.hyperparameters)
        // Load the table first so a wrong path fails before the supernet trains.
        let table = try NB201Table.load(explicit: benchmark)
        let estimator = NB201TabularEstimator(table: table)
        // Everything the user can get wrong is checked before the supernet trains: the metrics,
        // and a store that is busy, foreign, or holds another experiment.
        try NB201Search.checkMetrics(request)
        let configuration = ExperimentConfiguration(
            space: request.space, strategy: method.rawValue, hyperparameters: try config.strings(), seed: request.seed,
            objective: request.objective, report: request.report, estimator: estimator.name, budget: Budget(queries: 1))
        let trialStore: any TrialStore = try store.map { try SQLiteTrialStore(path: $0) } ?? InMemoryTrialStore()
        if let stored = try trialStore.configuration(), stored != configuration {
            throw TrialStoreError.configurationMismatch(store: trialStore.location, differences: stored.differences(from: configuration))
        }
        let (train, _) = try loadDataSet(data, testFraction: 0.2, seed: request.seed)
        let supernetData = try SupernetData(train: train, config: config, seed: request.seed)
        let checkpointURL = (checkpoint ?? store.map { $0 + ".supernet.safetensors" }).map { URL(fileURLWithPath: $0) }

        let search = try WeightSharingSearch(method: method, config: config, seed: request.seed, data: supernetData,
                                             checkpoint: checkpointURL)
        // Collapse warnings reach the user even with --quiet.
        search.log = { line in
            if !quiet || line.hasPrefix("warning:") { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
        if !quiet {
            FileHandle.standardError.write(Data(("\(method.rawValue): \(method.summary); C=\(config.channels) N=\(config.cellsPerStage) "
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

        let runner = ExperimentRunner(space: NB201SearchSpace(), estimator: estimator,
                                      strategy: DerivedArchitectureStrategy(space: NB201SearchSpace(), cell: result.cell),
                                      configuration: configuration, store: trialStore)
        let summary = try runner.run()
        print(SearchReport.text(summary, estimator: estimator))
        guard let final = summary.finalTrial, final.architecture == result.cell.description else {
            throw ValidationError("the store \(store ?? "") holds another final architecture than this search derived; use a new store")
        }
        let reported = final.metrics[request.report].map { String(format: "%.2f", $0) } ?? "nan"
        print(String(format: "weight-sharing result: method=%@ seed=%llu cell=%@ %@=%@ supernet_epochs_run=%d search_seconds=%.1f collapse=%@",
                     method.rawValue, request.seed, result.cell.description, request.report, reported,
                     result.epochsRun, result.seconds, result.collapse ?? "none"))
    }
}

/// One epoch of the health check as written to `<store>.health.jsonl` (the cell as its string).
private struct HealthLine: Encodable {
    var stage: String, epoch: Int, cell: String, parameterFreeShare: Double, validationAccuracy: Double, collapse: Bool
    init(_ h: EpochHealth) {
        stage = h.stage; epoch = h.epoch; cell = h.cell.description
        parameterFreeShare = h.parameterFreeShare; validationAccuracy = h.validationAccuracy; collapse = h.collapse
    }
}
