import ArgumentParser
import Foundation
import NASBench
import NASEstimators
import NASExperiment
import NASSpaces
import NASStrategies
import NASWeightSharing

/// `swiftnas search`: one architecture search on the NAS-Bench-201 table, persisted trial by
/// trial so that running the same command again after an interruption resumes it.
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search an architecture space with a black-box strategy (resumable).",
        discussion: """
        Strategies: \(StrategyCatalog.names.map { "\($0) (\(StrategyCatalog.summaries[$0]!))" }.joined(separator: "; ")).
        The strategy maximises --objective (default nb201_c10valid_valid_12, the NAS-Bench-201 paper's \
        12-epoch CIFAR-10 validation accuracy); the summary reports --report (default nats_c10_test_200) \
        of the best architecture. Hyperband/BOHB evaluate at 12 and 200 epochs; give them a cost budget \
        (--budget-cost, in epochs).
        The table is --benchmark, the config's `benchmark:`, $\(NB201Table.environmentVariable), or else the compact copy that ships with SwiftNAS.
        With --store, every proposal and result is written to that SQLite file as it happens; running the \
        same command again continues the search and ends with the same result as an uninterrupted run. \
        A store is refused if any setting differs from the one it was created with.
        """)

    @Option(help: "YAML file with the settings below (flags override it).")
    var config: String?

    @Option(help: "Search space: nb201 (every strategy), darts (the weight-sharing strategies), glit (glit, spos), autodeeplab (Auto-DeepLab's cell and network-level search for segmentation), dense-seg (segmentation networks) and avmnist (image + audio fusion), the last two with \(CategoricalSearchSetup.strategies.joined(separator: ", ")).")
    var space: String?

    @Option(help: "Strategy: \(StrategyCatalog.names.joined(separator: ", ")).")
    var strategy: String?

    @Option(help: "Path of the NAS-Bench-201 table (nasbench201.csv).")
    var benchmark: String?

    @Option(help: "Budget in queries (evaluations). Default 100 when no budget is given.")
    var budget: Int?

    @Option(name: .customLong("budget-seconds"), help: "Budget in wall-clock seconds.")
    var budgetSeconds: Double?

    @Option(name: .customLong("budget-cost"), help: "Budget in simulated cost (epochs for the NB201 table).")
    var budgetCost: Double?

    @Option(help: "Random seed.")
    var seed: UInt64?

    @Option(help: "Trial store: an SQLite file, or postgresql://user@host:port/db?study=NAME (NB201 table searches, for many workers); the search resumes from it if it exists.")
    var store: String?

    @Option(help: "PostgreSQL store: worker processes to run on this machine (default 1, in this process; 0: only create the study). Workers on other machines join with swiftnas worker.")
    var workers: Int?

    @Option(name: .customLong("simulate-time"), help: "NB201 table: wait this many seconds per epoch of each evaluation's simulated cost, to replay the table in (scaled) real time.")
    var simulateTime: Double?

    @OptionGroup(title: "PostgreSQL store") var workerOptions: WorkerOptions

    @Option(help: "Metric the strategy maximises.")
    var objective: String?

    @Option(help: "Metric reported for the best architecture.")
    var report: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("Strategy hyper-parameter key=value (repeatable).", valueName: "key=value"))
    var params: [String] = []

    @Flag(help: "No progress bar.")
    var quiet = false

    @Option(help: "Weight-sharing strategies (\(WeightSharingMethod.allCases.map(\.rawValue).joined(separator: ", "))): Fashion-MNIST IDX folder the supernet trains on.")
    var data: String?

    @Option(help: "Weight-sharing strategies: supernet checkpoint, written every epoch and resumed from (default <store>.supernet.safetensors).")
    var checkpoint: String?

    // The naswot flags are optional so that giving one to another strategy can be refused.
    @Option(help: "naswot: architectures to score (the paper's N; default 100).")
    var samples: Int?

    @Option(help: "naswot: zero-cost proxy to search with (\(ZeroCostProxy.allCases.map(\.rawValue).joined(separator: ", ")); default naswot).")
    var proxy: String?

    @OptionGroup(title: "Segmentation (--space dense-seg)") var segmentation: SegmentationOptions

    @Option(help: "avmnist: folder of spoken-digit recordings named {digit}_{speaker}_{index}.wav (16-bit PCM), paired with --data's images.")
    var audio: String?

    @Option(name: .customLong("image-energy"), help: "avmnist: rebuild each image from the leading principal components holding this fraction of the training images' variance (default 0.25, AV-MNIST's degradation; 1: the images as they are).")
    var imageEnergy: Double?

    @Option(name: .customLong("train-epochs"), help: "naswot: train the chosen cell for this many epochs (default 0: don't); dense-seg and avmnist: each child's training epochs (default 4 and 3).")
    var trainEpochs: Int?

    @Option(name: .customLong("train-limit"), help: "naswot: training images used when training the chosen cell (default 0: all).")
    var trainLimit: Int?

    @Option(help: "naswot: stem channels C of the trained network (default 16).")
    var channels: Int?

    @Option(help: "naswot: cells per stage N of the trained network (default 5).")
    var cells: Int?

    @Option(name: .customLong("train-param"),
            help: ArgumentHelp("naswot: a setting of the chosen cell's training recipe, key=value (repeatable): \(TrainingFreeSearchCLI.recipeKeys.joined(separator: ", ")).", valueName: "key=value"))
    var trainParams: [String] = []

    func validate() throws {
        try validateCounts([("--samples", samples ?? 1, 1), ("--train-epochs", trainEpochs ?? 0, 0), ("--train-limit", trainLimit ?? 0, 0),
                            ("--channels", channels ?? 1, 1), ("--cells", cells ?? 1, 1)])
        if let budget, budget < 1 { throw ValidationError("--budget must be at least 1 query (got \(budget))") }
        if let workers, !(0...256).contains(workers) { throw ValidationError("--workers must be in 0…256 (got \(workers))") }
        if let t = simulateTime, !(t.isFinite && t >= 0 && t <= 3600) {
            throw ValidationError("--simulate-time must be a number of seconds per unit of cost in [0, 3600] (got \(t))")
        }
        for (flag, value) in [("--budget-seconds", budgetSeconds), ("--budget-cost", budgetCost)] {
            if let v = value, !(v.isFinite && v > 0) { throw ValidationError("\(flag) must be a positive number (got \(v))") }
        }
    }

    /// The request after merging the config file and the flags.
    func request() throws -> (SearchRequest, benchmark: String?, store: String?) {
        let file = try config.map(SearchConfigFile.load)
        var r = SearchRequest()
        if let v = space ?? file?.space { r.space = v }
        if let v = strategy ?? file?.strategy { r.strategy = v }
        if let v = seed ?? file?.seed { r.seed = v }
        if let v = objective ?? file?.objective { r.objective = v }
        if let v = report ?? file?.report { r.report = v }
        var h = (file?.hyperparameters ?? [:]).mapValues(\.text)
        h.merge(try keyValueOverrides(params)) { $1 }
        r.hyperparameters = h
        if budget != nil || budgetSeconds != nil || budgetCost != nil {
            r.budget = Budget(queries: budget, seconds: budgetSeconds, cost: budgetCost)
        } else if let b = file?.budget {
            r.budget = Budget(queries: b.queries, seconds: b.seconds, cost: b.cost)
        }
        if r.budget.isUnlimited { throw ValidationError("the budget is unlimited: give queries, seconds or cost") }
        if let problem = r.budget.problem { throw ValidationError("\(config.map { "config file \($0): " } ?? "")\(problem)") }
        return (r, benchmark ?? file?.benchmark, store ?? file?.store)
    }

    /// Who set each setting (flag, config file or default), for the checklist of human intervention.
    func origins() throws -> MultimodalSearchCLI.Origins {
        let file = try config.map(SearchConfigFile.load)
        func by(_ flag: String, _ viaFlag: Bool, _ viaFile: Bool) -> String {
            viaFlag ? "flag \(flag)" : viaFile ? "config file \(config ?? "")" : "default"
        }
        var o = MultimodalSearchCLI.Origins()
        o.strategy = by("--strategy", strategy != nil, file?.strategy != nil)
        o.seed = by("--seed", seed != nil, file?.seed != nil)
        o.budget = by(budget != nil ? "--budget" : budgetSeconds != nil ? "--budget-seconds" : "--budget-cost",
                      budget != nil || budgetSeconds != nil || budgetCost != nil, file?.budget != nil)
        o.hyperparameters = by("--param", !params.isEmpty, !(file?.hyperparameters ?? [:]).isEmpty)
        o.store = by("--store", store != nil, file?.store != nil)
        o.data = by("--data", data != nil, false)
        o.audio = by("--audio", audio != nil, false)
        o.trainEpochs = by("--train-epochs", trainEpochs != nil, false)
        o.imageEnergy = by("--image-energy", imageEnergy != nil, false)
        o.quiet = by("--quiet", quiet, false)
        return o
    }

    /// A flag that belongs to another kind of strategy is an error, not silently ignored.
    func checkFlagsApply(to request: SearchRequest, store: String?) throws {
        let postgres = store.map(PostgresLocation.isPostgresURL) ?? false
        try workerOptions.validate(storeIsPostgres: postgres)
        if workers != nil, !postgres {
            throw ValidationError("--workers needs a postgresql:// store, which the worker processes share")
        }
        let tableSearch = request.space == "nb201" && StrategyCatalog.names.contains(request.strategy)
        if postgres, !tableSearch {
            throw ValidationError("a postgresql:// store holds NAS-Bench-201 table searches (--space nb201 with \(StrategyCatalog.names.joined(separator: ", "))); use an SQLite store for --space \(request.space) --strategy \(request.strategy)")
        }
        if simulateTime != nil, !tableSearch {
            throw ValidationError("--simulate-time applies to NAS-Bench-201 table searches only")
        }
        if request.space != "avmnist", audio != nil || imageEnergy != nil {
            throw ValidationError("\(audio != nil ? "--audio" : "--image-energy") applies to --space avmnist only")
        }
        if let e = imageEnergy, !(e > 0 && e <= 1) { throw ValidationError("--image-energy must be in (0, 1] (got \(e))") }
        // Spaces whose networks SwiftNAS trains itself: no table, no naswot flags; Auto-DeepLab has no
        // strategy to parameterise, the others no supernet checkpoint.
        if ["autodeeplab", "dense-seg", "avmnist"].contains(request.space) {
            let autodeeplab = request.space == "autodeeplab"
            let other: [(String, Bool)] = [("--samples", samples != nil), ("--proxy", proxy != nil), ("--train-limit", trainLimit != nil),
                                           ("--train-param", !trainParams.isEmpty),
                                           ("--channels", channels != nil), ("--cells", cells != nil), ("--benchmark", benchmark != nil),
                                           ("--objective", objective != nil), ("--report", report != nil),
                                           autodeeplab ? ("--param", !request.hyperparameters.isEmpty) : ("--checkpoint", checkpoint != nil)]
            if let (flag, _) = other.first(where: \.1) { throw ValidationError("\(flag) does not apply to --space \(request.space)") }
            if request.space == "avmnist" { try segmentation.refuse(for: "--space avmnist") }
            if let e = trainEpochs, !(1...10_000).contains(e) { throw ValidationError("--train-epochs must be in 1…10000 (got \(e))") }
            return
        }
        try segmentation.refuse(for: "--space \(request.space)")
        let naswot = request.strategy == TrainingFreeSearch<NB201SearchSpace>.name
        let weightSharing = WeightSharingMethod(rawValue: request.strategy) != nil
        let naswotFlags: [(String, Bool)] = [("--samples", samples != nil), ("--proxy", proxy != nil), ("--train-epochs", trainEpochs != nil),
                                             ("--train-limit", trainLimit != nil), ("--channels", channels != nil), ("--cells", cells != nil),
                                             ("--train-param", !trainParams.isEmpty)]
        if !naswot, let (flag, _) = naswotFlags.first(where: \.1) {
            throw ValidationError("\(flag) applies to --strategy naswot only, not \(request.strategy)")
        }
        if naswot, let key = request.hyperparameters.keys.sorted().first {
            throw ValidationError("naswot has no hyper-parameter '\(key)'; it is set by --samples, --proxy, --train-epochs, --train-limit, --channels and --cells")
        }
        if !weightSharing, checkpoint != nil {
            throw ValidationError("--checkpoint applies to the weight-sharing strategies only, not \(request.strategy)")
        }
        if !weightSharing, !naswot, data != nil {
            throw ValidationError("--data applies to naswot and the weight-sharing strategies; \(request.strategy) searches the table (--benchmark)")
        }
    }

    func run() throws {
        let (request, benchmarkPath, storePath) = try request()
        try checkFlagsApply(to: request, store: storePath)
        if request.space == "autodeeplab" {
            return try AutoDeepLabSearchCLI.run(seed: request.seed, data: data, options: segmentation, epochs: trainEpochs ?? 6,
                                                checkpoint: checkpoint ?? storePath.map { $0 + ".supernet.safetensors" }, quiet: quiet)
        }
        if request.space == "avmnist" {
            return try MultimodalSearchCLI.run(request, data: data, audio: audio, imageEnergy: imageEnergy ?? 0.25,
                                               childEpochs: trainEpochs ?? 3, store: storePath,
                                               quiet: quiet, origins: try origins())
        }
        if request.space == "dense-seg" {
            return try SegmentationSearchCLI.run(request, data: data, options: segmentation, childEpochs: trainEpochs ?? 4,
                                                 store: storePath, quiet: quiet)
        }
        if request.strategy == TrainingFreeSearch<NB201SearchSpace>.name {
            let options = TrainingFreeSearchCLI.Options(data: data, samples: samples ?? 100, proxy: proxy ?? "naswot",
                                                        trainEpochs: trainEpochs ?? 0, trainLimit: trainLimit ?? 0,
                                                        channels: channels ?? 16, cells: cells ?? 5,
                                                        recipe: try TrainingFreeSearchCLI.recipe(keyValueOverrides(trainParams, flag: "--train-param")),
                                                        quiet: quiet)
            return try TrainingFreeSearchCLI.run(request, options: options, benchmark: benchmarkPath, store: storePath)
        }
        if let method = WeightSharingMethod(rawValue: request.strategy) {
            return try WeightSharingSearchCLI.run(request, method: method, benchmark: benchmarkPath, store: storePath,
                                                  data: data, checkpoint: checkpoint, quiet: quiet)
        }
        if let url = storePath, PostgresLocation.isPostgresURL(url) {
            return try DistributedSearchCLI.run(request, benchmark: benchmarkPath, store: url, options: workerOptions,
                                                workers: workers ?? 1, simulateTime: simulateTime, quiet: quiet)
        }
        let table = try NB201Table.load(explicit: benchmarkPath)
        let estimator = NB201TabularEstimator(table: table)
        let trialStore: any TrialStore = try storePath.map { try SQLiteTrialStore(path: $0) } ?? InMemoryTrialStore()
        let (configuration, strategy) = try NB201Search.prepare(request, estimator: estimator)
        let runner = ExperimentRunner(space: NB201SearchSpace(), estimator: simulateTime.map { SimulatedTimeEstimator(estimator, secondsPerCost: $0) } ?? estimator,
                                      strategy: strategy, configuration: configuration, store: trialStore)
        var display = SearchProgressDisplay(reportMetric: request.report)
        let summary = try runner.run { progress in if !quiet { display.update(progress) } }
        if !quiet { display.finish() }
        print(SearchReport.text(summary, estimator: estimator))
    }
}

/// The `--param key=value` flags as a dictionary (a later key wins).
func keyValueOverrides(_ params: [String], flag: String = "--param") throws -> [String: String] {
    var h: [String: String] = [:]
    for p in params {
        guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
            throw ValidationError("\(flag) expects key=value, got '\(p)'")
        }
        h[String(p[..<eq])] = String(p[p.index(after: eq)...])
    }
    return h
}

/// The final summary printed by `swiftnas search`.
enum SearchReport {
    static func text(_ s: ExperimentSummary, estimator: NB201TabularEstimator) -> String {
        let c = s.configuration
        var lines: [String] = []
        lines.append("search: \(c.space) × \(c.strategy) × \(c.estimator), seed \(c.seed), budget \(c.budget)")
        let hp = c.hyperparameters.keys.sorted().map { "\($0)=\(c.hyperparameters[$0]!)" }.joined(separator: " ")
        lines.append("hyper-parameters: \(hp.isEmpty ? "none" : hp)")
        lines.append(String(format: "trials: %d (%d resumed from the store), cost %.0f %@, %.2f s",
                            s.queries, s.resumedTrials, s.cost, estimator.costUnit, s.seconds))
        lines.append(String(format: "strategy time per trial: ask %.3f ms, tell %.3f ms",
                            s.meanAskSeconds * 1000, s.meanTellSeconds * 1000))
        if let i = s.incumbent {
            let at = i.fidelity.map { " at \($0) epochs" } ?? ""
            lines.append("best: trial \(i.trial) \(i.architecture)")
            let metric = Objective(metric: c.objective).metric(at: i.fidelity.map(Fidelity.init(epochs:)))
            var value = String(format: "  %@ = %.4f%@", metric, i.objective, at)
            if let r = i.report { value += String(format: "; %@ = %.4f", c.report, r) }
            if let cell = try? NB201Cell(parsing: i.architecture) {
                value += "; arch index \(estimator.table.index(of: cell))"
            }
            lines.append(value)
        }
        if let f = s.finalTrial { lines.append("final architecture proposed by the strategy: \(f.architecture)") }
        return lines.joined(separator: "\n")
    }
}
