import Foundation
import NASData
import NASNN
import NASSpaces
import NASStrategies
import NASTensor

/// The weight-sharing methods, by the names `swiftnas search --strategy` takes.
public enum WeightSharingMethod: String, CaseIterable, Codable, Sendable {
    case darts, darts2, spos, fewshotDarts = "fewshot-darts", fewshotSpos = "fewshot-spos", rlnas, mdenas, dnal, glit

    public var summary: String {
        switch self {
        case .darts: return "DARTS first order (Liu et al. 2019): softmax relaxation, Adam on α, argmax per edge"
        case .darts2: return "DARTS second order: unrolled weight step, finite-difference Hessian-vector product"
        case .spos: return "single-path one-shot (Guo et al. 2020): uniform path training, evolution with BN recalibration"
        case .fewshotDarts: return "few-shot NAS (Zhao et al. 2021) over DARTS: five sub-supernets split on one edge"
        case .fewshotSpos: return "few-shot NAS over SPOS: five sub-supernets, evolution across them"
        case .rlnas: return "RLNAS (Zhang et al. 2021): random-label supernet, evolution on the weight-angle metric"
        case .mdenas: return "MdeNAS (Zheng et al. 2019): per-edge multinomial updated by the performance-ranking hypothesis"
        case .dnal: return "DNAL (Guo et al. 2021): scaled-sigmoid architecture gates with an annealed scale"
        case .glit: return "GLiT (Chen et al. 2021): uniform single-path supernet, hierarchical evolution (global/local split, then dimensions)"
        }
    }
}

/// What a weight-sharing search found.
public struct WeightSharingResult: Sendable, Equatable {
    public var architecture: ArchitectureChoices
    /// The architecture in the space's notation (NAS-Bench-201 cell string, DARTS genotype).
    public var description: String
    /// The method's own score of the cell (supernet accuracy, angle, probability, …), for logs.
    public var score: Double
    public var scoreName: String
    /// Supernet epochs run in this process (0 when everything came from the checkpoint).
    public var epochsRun: Int
    public var seconds: Double
    /// The per-epoch health check of every monitored stage (empty for SPOS, few-shot SPOS and RLNAS).
    public var health: [EpochHealth] = []

    /// The NAS-Bench-201 cell of a run on that space.
    public var cell: NB201Cell { NB201Supernet.cell(architecture) }

    /// The first epoch the collapse detector fired at, as "stage:epoch".
    public var collapse: String? {
        health.first { $0.collapse }.map { "\($0.stage):\($0.epoch)" }
    }
}

/// Thrown when `stopAfterEpochs` ends a search early (tests simulate a killed process with it).
public struct SearchInterrupted: Error, Equatable {}

/// One weight-sharing search: the data, the supernets of the method, their checkpoint and the
/// per-epoch loop. A checkpoint (safetensors: weights, α, both optimizers' states and every
/// method's own state, plus epochs done per stage) is written after every epoch; a search
/// started again with the same checkpoint path continues after the last saved epoch and ends
/// with the cell an uninterrupted search finds.
public final class WeightSharingSearch {
    public let method: WeightSharingMethod
    public let space: SupernetSpace
    public let config: WeightSharingConfig
    public let seed: UInt64
    public let data: SupernetData
    public let checkpoint: URL?
    /// Progress messages (one per epoch and per search phase).
    public var log: ((String) -> Void)?
    /// Ends the run with `SearchInterrupted` once this many epochs were trained in this process.
    public var stopAfterEpochs: Int?

    var states: [String: SupernetState] = [:]
    var extra: [String: Tensor] = [:]
    var progress: [String: Int] = [:]
    var epochsRun = 0

    public init(method: WeightSharingMethod, space: SupernetSpace = .nb201, config: WeightSharingConfig, seed: UInt64,
                data: SupernetData, checkpoint: URL? = nil) throws {
        try config.validate()
        self.method = method; self.space = space; self.config = config; self.seed = seed; self.data = data
        self.checkpoint = checkpoint
        // The decisions of the space (a supernet at one channel would do; this one is thrown away).
        if let problem = space.problem(config, imageSize: data.imageSize, inputChannels: data.inputChannels, classes: data.classes) {
            throw WeightSharingError.badConfig(problem)
        }
        let probe = space.makeSupernet(config, imageSize: data.imageSize, inputChannels: data.inputChannels, classes: data.classes, seed: seed)
        modelSpace = probe.space
        try config.validate(for: modelSpace)
        try config.validate(method: method, space: space)
        if config.minParameters > 0 || config.maxParameters > 0 {
            var rng = SeededGenerator(seed: 0)
            guard probe.pathParameterCount(modelSpace.uniform(mask: modelSpace.fullMask, using: &rng)) != nil else {
                throw WeightSharingError.badConfig("min_parameters/max_parameters: the \(space.rawValue) space does not count its paths' weights")
            }
        }
    }

    /// The decisions of the searched space.
    public let modelSpace: ModelSpace

    public func run() throws -> WeightSharingResult {
        let start = Date()
        if config.threads > 0 { Parallel.threadCount = config.threads }
        try restore()
        let (cell, score, name): (ArchitectureChoices, Double, String)
        switch method {
        case .darts: (cell, score, name) = try DARTS.search(self, secondOrder: false)
        case .darts2: (cell, score, name) = try DARTS.search(self, secondOrder: true)
        case .spos: (cell, score, name) = try SPOS.search(self)
        case .fewshotDarts: (cell, score, name) = try FewShot.search(self, base: .darts)
        case .fewshotSpos: (cell, score, name) = try FewShot.search(self, base: .spos)
        case .rlnas: (cell, score, name) = try RLNAS.search(self)
        case .mdenas: (cell, score, name) = try MdeNAS.search(self)
        case .dnal: (cell, score, name) = try DNAL.search(self)
        case .glit: (cell, score, name) = try GLiTSearch.search(self)
        }
        let description = describe(cell)
        log?("\(method.rawValue): \(description) (\(name) \(String(format: "%.4f", score)))")
        return WeightSharingResult(architecture: cell, description: description, score: score, scoreName: name, epochsRun: epochsRun,
                                   seconds: Date().timeIntervalSince(start), health: health)
    }

    // MARK: Supernets, stages and checkpoints

    /// The supernet named `name`, created from `initSeed` (default: the run's seed) when new.
    func state(_ name: String, initSeed: UInt64? = nil) -> SupernetState {
        if let s = states[name] { return s }
        let s = freshState(seed: initSeed ?? seed)
        states[name] = s
        return s
    }

    /// The architecture in the space's notation.
    func describe(_ a: ArchitectureChoices) -> String { state("main").net.describe(a) }

    /// Restart `r` of a `restarts=k` run: restart 0 is the plain run (stage "main", the run's
    /// seed); restart r > 0 is stage "restart<r>", initialised from seed + r·0x9E3779B9.
    func restart(_ r: Int) -> (stage: String, state: SupernetState) {
        r == 0 ? ("main", state("main")) : ("restart\(r)", state("restart\(r)", initSeed: seed &+ UInt64(r) &* 0x9E37_79B9))
    }

    /// A supernet exactly as initialised at the start of the run (RLNAS's reference weights).
    func freshState(seed: UInt64? = nil) -> SupernetState {
        let net = space.makeSupernet(config, imageSize: data.imageSize, inputChannels: data.inputChannels, classes: data.classes, seed: seed ?? self.seed)
        return SupernetState(net: net, config: config, seed: seed ?? self.seed)
    }

    /// Epochs of `stage` already trained (from the checkpoint).
    func epochsDone(_ stage: String) -> Int { progress[stage, default: 0] }

    /// Runs `body(epoch)` for the epochs of `stage` not yet done, checkpointing after each.
    /// With a `health` probe each epoch also gets the supernet health check (SupernetHealth),
    /// whose collapse detector may end the stage early (`on_collapse=stop|rollback`).
    func runStage(_ stage: String, epochs: Int, health: HealthProbe? = nil, _ body: (Int) throws -> String) throws {
        var e = epochsDone(stage)
        while e < epochs {
            if let stop = stopAfterEpochs, epochsRun >= stop { throw SearchInterrupted() }
            // Ctrl-C / SIGTERM stop at an epoch boundary, where the checkpoint is complete.
            try StopRequest.check()
            let t = Date()
            var message = try body(e)
            e += 1
            let trained = e
            var warning: String?
            if let health {
                let (record, ends) = checkHealth(stage, epoch: e, probe: health)
                message += String(format: "; derived %@ parameter-free %d/%d validation %.2f%%", record.cell,
                                  record.parameterFree, record.choices, 100 * record.validationAccuracy)
                if record.collapse { warning = collapseWarning(stage, record) }
                if ends { e = epochs }
            }
            progress[stage] = e
            epochsRun += 1
            try save()
            log?(String(format: "%@ epoch %d/%d: %@ (%.1f s)", stage, trained, epochs, message, Date().timeIntervalSince(t)))
            if let warning { log?(warning) }
        }
    }

    /// The health records of every monitored stage so far (restored from the checkpoint too).
    public var health: [EpochHealth] {
        extra.keys.filter { $0.hasPrefix("health.") && !$0.hasSuffix(".best") }.sorted().flatMap { key -> [EpochHealth] in
            let stage = String(key.dropFirst("health.".count))
            return healthRows(stage).enumerated().compactMap { i, row in
                // A checkpoint is user input: a row that is not an architecture of the space is left out, not trusted.
                guard let a = architecture(flat: Array(row.dropLast(3))) else { return nil }
                let (free, of) = modelSpace.parameterFreeShare(a)
                return EpochHealth(stage: stage, epoch: i + 1, architecture: a, cell: describe(a), parameterFree: free, choices: of,
                                   validationAccuracy: Double(row[row.count - 2]), collapse: row[row.count - 1] != 0)
            }
        }
    }

    /// Values an architecture flattens to (one per layer or value decision, k per input choice).
    private var flatLength: Int {
        modelSpace.decisions.reduce(0) { n, d in if case .input(let k) = d.kind { return n + k } else { return n + 1 } }
    }

    private func architecture(flat: [Float]) -> ArchitectureChoices? {
        guard flat.count == flatLength, flat.allSatisfy({ $0.isFinite && $0 >= -1 && $0 < 1e6 }) else { return nil }
        var i = 0
        let a = ArchitectureChoices(modelSpace.decisions.map { d in
            let k: Int
            if case .input(let chosen) = d.kind { k = chosen } else { k = 1 }
            defer { i += k }
            return flat[i..<(i + k)].map { Int($0) }
        })
        return modelSpace.allows(a, mask: modelSpace.fullMask) ? a : nil
    }

    /// Rows (flattened architecture, parameter-free share, validation accuracy, fired) of
    /// `stage`, one per epoch, kept in the checkpoint so a resumed run decides exactly as an
    /// uninterrupted one.
    private func healthRows(_ stage: String) -> [[Float]] {
        let n = flatLength + 3
        guard let t = extra["health.\(stage)"], t.shape.count == 2, t.shape[1] == n else { return [] }
        let a = t.array
        return (0..<t.shape[0]).map { Array(a[($0 * n)..<($0 * n + n)]) }
    }

    /// Scores the stage's derived architecture, records it, runs the detector; true when the stage ends.
    private func checkHealth(_ stage: String, epoch: Int, probe: HealthProbe) -> (EpochHealth, Bool) {
        let cell = probe.derive()
        let (free, of) = modelSpace.parameterFreeShare(cell)
        let share = Double(free) / Double(max(of, 1))
        // Stored and compared as Float, so the decision after a resume is the same.
        let accuracy = Float(SupernetHealth.validationAccuracy(probe.net, cell: cell, calibration: calibrationBatches(),
                                                               data: evaluationSet()))
        var rows = healthRows(stage)
        let accuracies = rows.map { Double($0[$0.count - 2]) } + [Double(accuracy)]
        let firedBefore = rows.contains { $0[$0.count - 1] != 0 }
        let fires = !firedBefore && SupernetHealth.fires(accuracies: accuracies, share: share,
                                                          threshold: config.collapseShare, patience: config.collapsePatience)
        if accuracy > (rows.map { $0[$0.count - 2] }.max() ?? -1) { extra["health.\(stage).best"] = probe.architecture.copy() }
        rows.append(cell.choices.flatMap { $0.map(Float.init) } + [Float(share), accuracy, fires ? 1 : 0])
        extra["health.\(stage)"] = Tensor(shape: [rows.count, flatLength + 3], data: rows.flatMap { $0 })
        if fires && config.onCollapse == .rollback, let best = extra["health.\(stage).best"] {
            probe.architecture.assign(best)
        }
        let record = EpochHealth(stage: stage, epoch: epoch, architecture: cell, cell: describe(cell), parameterFree: free,
                                 choices: of, validationAccuracy: Double(accuracy), collapse: fires)
        return (record, fires && config.onCollapse != .warn)
    }

    private func collapseWarning(_ stage: String, _ r: EpochHealth) -> String {
        let rows = healthRows(stage)
        let best = SupernetHealth.bestEpoch(rows.map { Double($0[$0.count - 2]) }) ?? 0
        let what: String
        switch config.onCollapse {
        case .warn: what = "training goes on (--param on_collapse=stop|rollback ends the stage here)"
        case .stop: what = "the stage stops here (on_collapse=stop)"
        case .rollback: what = "the stage stops and its architecture is rolled back to epoch \(best + 1) (on_collapse=rollback)"
        }
        return String(format: "warning: supernet collapse suspected in %@ at epoch %d: %d of %d edges parameter-free, "
                      + "validation accuracy of the derived cell best at epoch %d (%.2f%%), not improved for %d epochs; %@",
                      stage, r.epoch, r.parameterFree, r.choices, best + 1, 100 * Double(rows[best][rows[best].count - 2]),
                      rows.count - 1 - best, what)
    }

    /// SPOS's evolution (`ChoiceEvolution`) over the paths of `net` that `mask` allows and, when
    /// `bounded`, the parameter bounds admit, with the run's evolution settings and a generator of
    /// its own per `stage`; throws when no path is within the bounds.
    func evolve(_ net: any Supernet, mask: [[Bool]], stage: String, population: Int? = nil, generations: Int? = nil,
                bounded: Bool = true, fitness: (ArchitectureChoices) -> Double) throws -> ChoiceEvolution.Outcome {
        var rng = generator(stage: stage, epoch: 0)
        let c = config
        let found = ChoiceEvolution.search(space: net.space, population: population ?? c.population,
                                           generations: generations ?? c.generations, parents: c.parents,
                                           mutationProbability: c.mutationProbability, mask: mask, using: &rng,
                                           feasible: { !bounded || c.admits(net.pathParameterCount($0)) }, fitness: fitness)
        guard let found else {
            throw WeightSharingError.badConfig("no architecture drawn has \(c.minParameters)…\(c.maxParameters) weights "
                                               + "(min_parameters, max_parameters); widen the bounds")
        }
        return found
    }

    /// Cosine-annealed weight learning rate of epoch `e` of `epochs`, from `peak`.
    func weightLearningRate(epoch e: Int, of epochs: Int, peak: Float) -> Float {
        let t = Float(e) / Float(max(epochs, 1))
        return config.weightLearningRateMin + (peak - config.weightLearningRateMin) * (1 + Foundation.cos(Float.pi * t)) / 2
    }

    /// Mini-batches of both halves for one epoch of one stage (seeded by run, stage and epoch).
    func batches(stage: String, epoch: Int, labels: Dataset? = nil) -> (weight: EpochBatches, arch: EpochBatches) {
        let salt = UInt64(stage.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) } & 0xFFFF_FFFF)
        let w = BatchLoader(labels ?? data.weightHalf, batchSize: config.batchSize, dropLast: true, seed: seed &+ salt)
        let a = BatchLoader(data.archHalf, batchSize: config.batchSize, dropLast: true, seed: seed &+ salt &+ 1)
        return (w.epoch(epoch), a.epoch(epoch))
    }

    /// A generator for the random choices of one epoch of one stage (path sampling).
    func generator(stage: String, epoch: Int) -> SeededGenerator {
        var g = SeededGenerator(seed: seed ^ 0x5EA2C4)
        for b in stage.utf8 { g = SeededGenerator(seed: g.next() ^ UInt64(b)) }
        return SeededGenerator(seed: g.next() &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// Weight-half batches for BN recalibration, the same for every candidate.
    func calibrationBatches() -> [Batch] {
        let loader = BatchLoader(data.weightHalf, batchSize: config.batchSize, dropLast: true, seed: seed &+ 77)
        return Array(loader.epoch(0).prefix(config.calibrationBatches))
    }

    /// Architecture-half images candidates are scored on.
    func evaluationSet() -> Dataset { data.archHalf.prefix(config.evaluationImages) }

    private func metadata() throws -> [String: String] {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return [
            "format": "swiftnas-supernet-2",
            "method": method.rawValue,
            "space": space.rawValue,
            "seed": String(seed),
            "config": String(decoding: try e.encode(config), as: UTF8.self),
            "progress": String(decoding: try e.encode(progress), as: UTF8.self),
            "states": states.keys.sorted().joined(separator: ","),
        ]
    }

    func save() throws {
        guard let checkpoint else { return }
        var all: [String: Tensor] = [:]
        for (name, s) in states { all.merge(s.tensors(prefix: name + ".")) { a, _ in a } }
        for (k, v) in extra { all["extra.\(k)"] = v }
        try FileManager.default.createDirectory(at: checkpoint.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Safetensors.write(all, metadata: try metadata(), to: checkpoint)
    }

    private func restore() throws {
        guard let checkpoint, FileManager.default.fileExists(atPath: checkpoint.path) else { return }
        let (tensors, meta) = try Safetensors.read(checkpoint)
        let expected = try metadata()
        for key in ["format", "method", "space", "seed", "config"] where meta[key] != expected[key] {
            throw WeightSharingError.checkpointMismatch(
                "\(checkpoint.path) was written with another \(key) (\(meta[key] ?? "none")); use a new checkpoint path")
        }
        progress = try JSONDecoder().decode([String: Int].self, from: Data((meta["progress"] ?? "{}").utf8))
        for name in (meta["states"] ?? "").split(separator: ",").map(String.init) {
            try state(name).load(tensors, prefix: name + ".")
        }
        for (k, v) in tensors where k.hasPrefix("extra.") { extra[String(k.dropFirst(6))] = v }
        log?("resumed from \(checkpoint.path): " + progress.keys.sorted().map { "\($0) \(progress[$0]!) epochs" }.joined(separator: ", "))
    }
}
