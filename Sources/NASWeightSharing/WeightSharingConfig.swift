import Foundation
import NASNN

/// Every setting of a weight-sharing search, with the CPU-scale defaults documented in
/// docs/weight_sharing.md (the papers' values are listed beside each there). Serialised into
/// supernet checkpoints and the trial store, so a resumed search runs with exactly these.
public struct WeightSharingConfig: Codable, Equatable, Sendable {
    // Supernet and data.
    /// Stem channels C (the benchmark: 16).
    public var channels = 8
    /// NAS-Bench-201: cells per stage N (the benchmark: 5).
    public var cellsPerStage = 1
    /// DARTS space: cells in the network, reductions at 1/3 and 2/3 (the paper's search: 8).
    public var layers = 5
    /// Input side: 16 (Fashion-MNIST 2×2-averaged to 14×14, zero-padded), 28 (as is) or 32 (padded).
    public var imageSize = 16
    /// Fashion-MNIST training images used (the first N), split in half: weights / architecture.
    public var trainImages = 3000
    public var batchSize = 64
    /// Supernet training epochs (few-shot: of the one-shot supernet before the split).
    public var epochs = 6

    // Weights: SGD with momentum (DARTS' settings) or AdamW (GLiT's), cosine-annealed, gradient clipping.
    /// `sgd` or `adamw` (decoupled weight decay; momentum unused).
    public var weightOptimizer = "sgd"
    public var weightLearningRate: Float = 0.05
    public var weightLearningRateMin: Float = 0.001
    public var momentum: Float = 0.9
    public var weightDecay: Float = 3e-4
    public var gradClip: Float = 5

    // Architecture parameters: Adam (DARTS: lr 3e-4, betas (0.5, 0.999), weight decay 1e-3).
    public var archLearningRate: Float = 3e-3
    public var archBeta1: Float = 0.5
    public var archBeta2: Float = 0.999
    public var archWeightDecay: Float = 1e-3

    // Evolutionary search over a trained supernet (SPOS, RLNAS, few-shot SPOS).
    public var population = 16
    public var generations = 4
    /// Parents kept each generation (top-k).
    public var parents = 6
    public var mutationProbability: Float = 0.1
    /// Weight-half batches used to recalibrate batch-norm statistics for each candidate.
    public var calibrationBatches = 4
    /// Architecture-half images a candidate is scored on.
    public var evaluationImages = 500
    /// RLNAS: population and generations of the (data-free) angle search.
    public var anglePopulation = 50
    public var angleGenerations = 20

    // Few-shot NAS.
    /// The decision split into one sub-supernet per op (a row of α: NAS-Bench-201 0…5 in the
    /// cell string's edge order; DARTS 0…27, the normal cell's 14 edges then the reduction cell's).
    public var splitEdge = 0
    /// Fine-tuning epochs of each sub-supernet.
    public var fewShotEpochs = 2

    // MdeNAS: step of the multinomial probabilities per ranking comparison.
    public var mdenasLearningRate: Float = 0.01

    // DNAL: the sigmoid scale β grows geometrically from `betaInitial` to `betaFinal`.
    public var betaInitial: Float = 1
    public var betaFinal: Float = 50

    // Supernet health check (SupernetHealth): the collapse detector fires when the derived cell
    // has at least `collapse_share` parameter-free edges while the best validation accuracy of
    // the derived cells is `collapse_patience` or more epochs old.
    public var onCollapse: CollapseAction = .warn
    public var collapseShare: Double = 0.8
    public var collapsePatience = 4

    /// DARTS and SPOS: independent restarts (own initialisation and batch order, the same data split);
    /// the restart whose derived cell has the best recalibrated accuracy on the architecture
    /// half wins — few-shot NAS's selection rule.
    public var restarts = 1

    // GLiT space: the ViT stem and token width, and the heads each block splits.
    public var patch = 7
    public var embedDim = 64
    public var depth = 4
    public var heads = 4
    /// Evolutionary searches keep to architectures with this many weights (0: no bound), in
    /// spaces that count them (glit): GLiT's comparison at equal size.
    public var minParameters = 0
    public var maxParameters = 0

    /// Worker threads (0: all cores).
    public var threads = 0

    public init() {}

    /// The CPU-scale defaults of `method` on `space`: single-path methods (one op per edge per
    /// step) run three times the epochs of the relaxed ones (every op every step), for a similar
    /// cost. The GLiT space trains its transformers as ViTs are trained: AdamW, 28×28 inputs.
    public static func defaults(for method: WeightSharingMethod, space: SupernetSpace = .nb201) -> WeightSharingConfig {
        var c = WeightSharingConfig()
        if space == .glit {
            c.imageSize = 28; c.trainImages = 10000; c.epochs = 15; c.batchSize = 64
            c.weightOptimizer = "adamw"; c.weightLearningRate = 1e-3; c.weightLearningRateMin = 1e-5; c.weightDecay = 0.05
            c.population = 16; c.generations = 4; c.parents = 6; c.mutationProbability = 0.2; c.evaluationImages = 1000
            return c
        }
        switch method {
        case .darts, .darts2:
            c.epochs = 30
        case .fewshotDarts:
            c.epochs = 10; c.fewShotEpochs = 20
        case .dnal:
            c.epochs = 8
        case .spos, .fewshotSpos, .rlnas, .mdenas, .glit:
            c.epochs = 24; c.fewShotEpochs = 6
        }
        return c
    }

    /// The settings with `key=value` overrides applied (snake_case keys, as in `--param`).
    public func overridden(_ overrides: [String: String]) throws -> WeightSharingConfig {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard var object = try JSONSerialization.jsonObject(with: encoder.encode(self)) as? [String: Any] else {
            throw WeightSharingError.badConfig("settings are not a key/value map")
        }
        for (key, text) in overrides.sorted(by: { $0.key < $1.key }) {
            guard object[key] != nil else {
                throw WeightSharingError.badConfig("'\(key)' is not a weight-sharing setting; they are "
                    + object.keys.sorted().joined(separator: ", "))
            }
            let t = text.trimmingCharacters(in: .whitespaces)
            if object[key] is String {
                guard key != "on_collapse" || CollapseAction(rawValue: t) != nil else {
                    throw WeightSharingError.badConfig("'on_collapse' must be one of "
                        + CollapseAction.allCases.map(\.rawValue).joined(separator: ", ") + ", got '\(text)'")
                }
                object[key] = t
            } else if let i = Int(t) { object[key] = i } else if let d = Double(t) { object[key] = d } else {
                throw WeightSharingError.badConfig("'\(key)' needs a number, got '\(text)'")
            }
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            let c = try decoder.decode(WeightSharingConfig.self, from: JSONSerialization.data(withJSONObject: object))
            try c.validate()
            return c
        } catch let e as WeightSharingError { throw e } catch {
            throw WeightSharingError.badConfig("a value has the wrong type (integers for counts): \(overrides): \(error)")
        }
    }

    /// All settings as `key: value` strings (stored with the trial).
    public func strings() throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let object = try JSONSerialization.jsonObject(with: encoder.encode(self)) as? [String: Any] else { return [:] }
        var out: [String: String] = [:]
        for (k, v) in object {
            out[k] = String(decoding: try JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed]), as: UTF8.self)
        }
        return out
    }

    /// Whether a path of `parameters` weights (nil: not counted) is within the bounds.
    func admits(_ parameters: Int?) -> Bool {
        guard let n = parameters else { return true }
        return n >= minParameters && (maxParameters == 0 || n <= maxParameters)
    }

    /// The methods a space supports: GLiT's space has only single paths (no relaxation, no
    /// layer choices to split or weigh), and GLiT's hierarchical search needs its two levels.
    func validate(method: WeightSharingMethod, space: SupernetSpace) throws {
        if space == .glit, ![.spos, .glit].contains(method) {
            throw WeightSharingError.badConfig("the glit space is searched by glit or spos, not \(method.rawValue)")
        }
        if method == .glit, space != .glit { throw WeightSharingError.badConfig("the glit method searches --space glit only") }
        if method == .glit, restarts != 1 { throw WeightSharingError.badConfig("glit trains one supernet: restarts must be 1") }
        if method == .darts2, weightOptimizer != "sgd" {
            throw WeightSharingError.badConfig("darts2 unrolls an SGD step: weight_optimizer must be sgd")
        }
    }

    /// The checks that need the searched space.
    func validate(for space: ModelSpace) throws {
        guard splitEdge < space.rows.count else {
            throw WeightSharingError.badConfig("split_edge must be 0…\(space.rows.count - 1) in this space, got \(splitEdge)")
        }
    }

    func validate() throws {
        guard [16, 28, 32].contains(imageSize) else { throw WeightSharingError.badConfig("image_size must be 16, 28 or 32") }
        guard channels > 0, cellsPerStage > 0, batchSize > 0, epochs > 0, trainImages >= 2 * batchSize else {
            throw WeightSharingError.badConfig("channels, cells_per_stage, batch_size and epochs must be positive and train_images at least two batches")
        }
        guard splitEdge >= 0, layers >= 3 else { throw WeightSharingError.badConfig("split_edge must be ≥ 0 and layers ≥ 3 (DARTS: a normal cell before each reduction)") }
        guard population >= 2, parents >= 1, parents <= population, generations >= 0,
              anglePopulation >= 2, angleGenerations >= 0 else {
            throw WeightSharingError.badConfig("population needs at least 2 members and parents ≤ population")
        }
        guard collapseShare > 0, collapseShare <= 1, collapsePatience >= 1 else {
            throw WeightSharingError.badConfig("collapse_share must be in (0, 1] and collapse_patience at least 1")
        }
        guard (1...20).contains(restarts) else { throw WeightSharingError.badConfig("restarts must be 1…20") }
        guard ["sgd", "adamw"].contains(weightOptimizer) else {
            throw WeightSharingError.badConfig("'weight_optimizer' must be sgd or adamw, got '\(weightOptimizer)'")
        }
        guard minParameters >= 0, maxParameters >= 0, maxParameters == 0 || maxParameters >= minParameters else {
            throw WeightSharingError.badConfig("need 0 ≤ min_parameters ≤ max_parameters (0: no bound)")
        }
        guard betaInitial > 0, betaFinal >= betaInitial else { throw WeightSharingError.badConfig("need 0 < beta_initial ≤ beta_final") }
    }
}

/// Errors of weight-sharing searches that are the user's to fix.
public enum WeightSharingError: Error, CustomStringConvertible, Equatable {
    case badConfig(String)
    case unknownMethod(String)
    case checkpointMismatch(String)

    public var description: String {
        switch self {
        case .badConfig(let m): return "invalid weight-sharing setting: \(m)"
        case .unknownMethod(let m): return "unknown weight-sharing method '\(m)'; available: " + WeightSharingMethod.allCases.map(\.rawValue).joined(separator: ", ")
        case .checkpointMismatch(let m): return "supernet checkpoint cannot be resumed: \(m)"
        }
    }
}
