import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor

/// The weight-sharing methods, by the names `swiftnas search --strategy` takes.
public enum WeightSharingMethod: String, CaseIterable, Codable, Sendable {
    case darts, darts2, spos, fewshotDarts = "fewshot-darts", fewshotSpos = "fewshot-spos", rlnas, mdenas, dnal

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
        }
    }
}

/// What a weight-sharing search found.
public struct WeightSharingResult: Sendable, Equatable {
    public var cell: NB201Cell
    /// The method's own score of the cell (supernet accuracy, angle, probability, …), for logs.
    public var score: Double
    public var scoreName: String
    /// Supernet epochs run in this process (0 when everything came from the checkpoint).
    public var epochsRun: Int
    public var seconds: Double
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

    public init(method: WeightSharingMethod, config: WeightSharingConfig, seed: UInt64, data: SupernetData,
                checkpoint: URL? = nil) throws {
        try config.validate()
        self.method = method; self.config = config; self.seed = seed; self.data = data; self.checkpoint = checkpoint
    }

    public func run() throws -> WeightSharingResult {
        let start = Date()
        if config.threads > 0 { Parallel.threadCount = config.threads }
        try restore()
        let (cell, score, name): (NB201Cell, Double, String)
        switch method {
        case .darts: (cell, score, name) = try DARTS.search(self, secondOrder: false)
        case .darts2: (cell, score, name) = try DARTS.search(self, secondOrder: true)
        case .spos: (cell, score, name) = try SPOS.search(self)
        case .fewshotDarts: (cell, score, name) = try FewShot.search(self, base: .darts)
        case .fewshotSpos: (cell, score, name) = try FewShot.search(self, base: .spos)
        case .rlnas: (cell, score, name) = try RLNAS.search(self)
        case .mdenas: (cell, score, name) = try MdeNAS.search(self)
        case .dnal: (cell, score, name) = try DNAL.search(self)
        }
        log?("\(method.rawValue): \(cell) (\(name) \(String(format: "%.4f", score)))")
        return WeightSharingResult(cell: cell, score: score, scoreName: name, epochsRun: epochsRun,
                                   seconds: Date().timeIntervalSince(start))
    }

    // MARK: Supernets, stages and checkpoints

    /// The supernet named `name`, created from the run's seed (deterministic) when new.
    func state(_ name: String) -> SupernetState {
        if let s = states[name] { return s }
        let s = freshState()
        states[name] = s
        return s
    }

    /// A supernet exactly as initialised at the start of the run (RLNAS's reference weights).
    func freshState() -> SupernetState {
        SupernetState(config: config, inputChannels: data.inputChannels, classes: data.classes, seed: seed)
    }

    /// Epochs of `stage` already trained (from the checkpoint).
    func epochsDone(_ stage: String) -> Int { progress[stage, default: 0] }

    /// Runs `body(epoch)` for the epochs of `stage` not yet done, checkpointing after each.
    func runStage(_ stage: String, epochs: Int, _ body: (Int) throws -> String) throws {
        var e = epochsDone(stage)
        while e < epochs {
            if let stop = stopAfterEpochs, epochsRun >= stop { throw SearchInterrupted() }
            // Ctrl-C / SIGTERM stop at an epoch boundary, where the checkpoint is complete.
            try StopRequest.check()
            let t = Date()
            let message = try body(e)
            e += 1
            progress[stage] = e
            epochsRun += 1
            try save()
            log?(String(format: "%@ epoch %d/%d: %@ (%.1f s)", stage, e, epochs, message, Date().timeIntervalSince(t)))
        }
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
            "format": "swiftnas-supernet-1",
            "method": method.rawValue,
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
        for key in ["format", "method", "seed", "config"] where meta[key] != expected[key] {
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

/// Per-edge argmax helpers shared by the methods.
enum Discretize {
    /// The op with the largest value on each edge among those `mask` allows (ties: first).
    static func argmax(_ values: [Float], mask: [[Bool]]) -> NB201Cell {
        NB201Cell(ops: (0..<NB201Cell.edgeCount).map { e in
            var best = -Float.infinity, bk = 0
            for k in 0..<5 where mask[e][k] && values[e * 5 + k] > best { best = values[e * 5 + k]; bk = k }
            return NB201Operation(rawValue: bk)!
        })
    }

    /// A uniformly random cell among those `mask` allows.
    static func uniform(mask: [[Bool]], using rng: inout SeededGenerator) -> NB201Cell {
        NB201Cell(ops: (0..<NB201Cell.edgeCount).map { e in
            let allowed = (0..<5).filter { mask[e][$0] }
            return NB201Operation(rawValue: allowed[Int(rng.next() % UInt64(allowed.count))])!
        })
    }
}
