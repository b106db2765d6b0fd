import Foundation
import NASNN
import NASSpaces
import NASTensor

/// The encoder–predictor–decoder of NAO (Luo, Tian, Qin, Chen & Liu, NeurIPS 2018).
///
/// - encoder: token embedding → LSTM; the architecture's continuous embedding z is the mean of
///   the encoder's hidden states over the sequence ([B, H]);
/// - predictor: MLP z → hidden (ReLU) → 1, the standardised objective;
/// - decoder: an LSTM started from (h = z, c = 0) that reads the previous token (a start token
///   first) and emits each decision's option through one shared output layer, restricted to the
///   decision's own options.
final class NAOModel: Module {
    let embedding: Embedding
    let encoder: LSTM
    let predictorHidden: Linear
    let predictorOut: Linear
    let decoder: LSTM
    let output: Linear
    let layout: TokenLayout

    init(layout: TokenLayout, embeddingSize: Int, hiddenSize: Int, predictorWidth: Int, using rng: inout SeededGenerator) {
        self.layout = layout
        embedding = Embedding(layout.vocabulary + 1, embeddingSize, using: &rng)
        encoder = LSTM(inputSize: embeddingSize, hiddenSize: hiddenSize, using: &rng)
        predictorHidden = Linear(hiddenSize, predictorWidth, using: &rng)
        predictorOut = Linear(predictorWidth, 1, using: &rng)
        decoder = LSTM(inputSize: embeddingSize, hiddenSize: hiddenSize, using: &rng)
        output = Linear(hiddenSize, layout.vocabulary, using: &rng)
    }

    var startToken: Int { layout.vocabulary }

    /// Embeddings z `[B, H]` of choice vectors.
    func encode(_ choices: [[Int]]) -> Tensor {
        let b = choices.count, t = layout.length
        let tokens = choices.flatMap { layout.tokens($0) }
        let x = embedding(tokens, shape: [b, t])
        return encoder(x).output.mean(axes: [1])
    }

    /// Predicted standardised objective `[B, 1]`.
    func predict(_ z: Tensor) -> Tensor { predictorOut(relu(predictorHidden(z))) }

    /// Mean reconstruction cross-entropy of `choices` given z, with teacher forcing.
    func reconstructionLoss(_ z: Tensor, _ choices: [[Int]]) -> Tensor {
        let b = choices.count, t = layout.length
        var inputs: [Int] = []
        inputs.reserveCapacity(b * t)
        for c in choices { inputs.append(startToken); inputs += layout.tokens(c).dropLast() }
        let x = embedding(inputs, shape: [b, t])
        let h = decoder(x, state: (z, Tensor(zeros: z.shape))).output
        let logits = output(h.reshaped([b * t, h.shape[2]])).reshaped([b, t, layout.vocabulary])
        var total: Tensor?
        for d in 0..<t {
            let local = logits.slice(axis: 1, d..<(d + 1)).reshaped([b, layout.vocabulary])
                .slice(axis: 1, layout.offsets[d]..<(layout.offsets[d] + layout.counts[d]))
            let ce = crossEntropy(local, targets: choices.map { $0[d] })
            total = total.map { $0 + ce } ?? ce
        }
        return total! / Float(t)
    }

    /// Embeddings of every choice vector of the space in lexicographic order (last decision
    /// fastest), without gradient. Sequences sharing a prefix share its LSTM steps, so the
    /// encoder runs Σₖ Πᵢ≤ₖ countsᵢ steps instead of T·Π countsᵢ (NB201: 19,530 vs 93,750).
    func encodeAll() -> Tensor {
        withoutGrad {
            let hs = encoder.hiddenSize
            var h = Tensor(zeros: [1, hs]), c = Tensor(zeros: [1, hs]), sum = Tensor(zeros: [1, hs])
            var prefixes = 1
            for d in 0..<layout.length {
                let n = layout.counts[d]
                let parents = (0..<(prefixes * n)).map { $0 / n }
                let tokens = (0..<(prefixes * n)).map { layout.offsets[d] + $0 % n }
                let x = embedding(tokens)
                (h, c) = encoder.cell(x, state: (NASTensor.embedding(h, indices: parents), NASTensor.embedding(c, indices: parents)))
                sum = NASTensor.embedding(sum, indices: parents) + h
                prefixes *= n
            }
            return sum * (1 / Float(layout.length))
        }
    }

    /// Greedy decoding of embeddings `[B, H]` to choice vectors (no gradient).
    func decode(_ z: Tensor) -> [[Int]] {
        withoutGrad {
            let b = z.shape[0]
            var state = (h: z, c: Tensor(zeros: z.shape))
            var previous = [Int](repeating: startToken, count: b)
            var result = [[Int]](repeating: [], count: b)
            for d in 0..<layout.length {
                state = decoder.cell(embedding(previous), state: state)
                let logits = output(state.h)
                let v = layout.vocabulary, lo = layout.offsets[d], n = layout.counts[d]
                for r in 0..<b {
                    var best = 0
                    var bestValue = -Float.infinity
                    for o in 0..<n where logits.data[r * v + lo + o] > bestValue {
                        bestValue = logits.data[r * v + lo + o]
                        best = o
                    }
                    result[r].append(best)
                    previous[r] = lo + best
                }
            }
            return result
        }
    }

    /// One step of gradient ascent on the predicted objective in embedding space:
    /// z' = z + η·∂f/∂z for each row (rows are independent, so one backward of Σf gives them all).
    func ascentDirection(_ z: Tensor) -> Tensor {
        let leaf = z.detach().copy()
        leaf.requiresGrad = true
        let f = predict(leaf).sum()
        f.backward()
        return leaf.grad!
    }
}

/// NAO (Neural Architecture Optimization), Luo et al., NeurIPS 2018, as an ask/tell strategy.
///
/// 1. Evaluate `initialSamples` random architectures; draw `unlabelledSamples` more, never
///    evaluated (SemiNAO, Luo et al. 2020: the autoencoder also learns from unlabelled
///    architectures, which costs no queries).
/// 2. Train the encoder, predictor and decoder jointly: loss = λ·MSE(f(z), the objective's
///    scaled rank, or its standardised value without `rankTargets`) over the evaluated architectures + (1 − λ)·reconstruction cross-entropy over
///    evaluated and unlabelled ones (`tradeOff` = λ). The model is kept between rounds and trained
///    further each round (`epochs` full-batch Adam steps), as the paper's iterations continue one
///    model. Without the unlabelled sequences a decoder trained on a few dozen labelled ones
///    only reproduces them, and the ascent finds nothing new.
/// 3. Gradient ascent: start from the `ascentSeeds` best evaluated architectures (and, with
///    `ascentFromUnlabelled`, from every unlabelled one), take `maxAscentSteps` steps
///    z ← z + η·∂f/∂z (η = `stepSize`, the gradient recomputed at each point) and decode after
///    each; every decoding not proposed before is a candidate.
/// 4. Rank the candidates by the predictor (on their own re-encoded embeddings) and propose the
///    best `proposalsPerRound`; then go back to 2. Optionally (`exhaustiveShare` > 0, spaces of at
///    most `scoreAllLimit` architectures) a share of each round's proposals comes instead from
///    scoring every architecture with the same encoder + predictor.
///
/// With several workers: each round's proposals are handed out to asks in order without waiting
/// for results, none twice; the model learns only from told results, at its next round (see
/// `ModelBasedStrategy`).
///
/// Paper settings (CIFAR-10): embedding 32, LSTM hidden 96, predictor MLP 200, λ = 0.8,
/// Adam lr 0.001, 1000 seed architectures, 3 iterations, top 100 seeds, step size 10.
/// Defaults here are sized for a table benchmark; see docs/learned_search.md.
public struct NAO<Space: CategoricalSearchSpace & Codable>: ModelBasedStrategy {
    public struct Hyperparameters: Codable, Equatable, Sendable, ModelBasedHyperparameters {
        /// Random architectures labelled before the first round.
        public var initialSamples: Int = 10
        /// Token embedding, LSTM hidden state and predictor MLP widths.
        public var embeddingSize: Int = 16
        public var hiddenSize: Int = 24
        public var predictorWidth: Int = 32
        /// λ: weight of the prediction loss; 1 − λ weighs reconstruction.
        public var tradeOff: Double = 0.8
        /// Adam's learning rate for the encoder–predictor–decoder.
        public var learningRate: Double = 0.01
        /// Full-batch Adam steps per round (the first round trains `firstEpochs`).
        public var epochs: Int = 25
        public var firstEpochs: Int = 120
        /// Gradient ascent in embedding space: from the `ascentSeeds` best labelled architectures, steps of `stepSize` until the decoding changes (at most `maxAscentSteps`).
        public var ascentSeeds: Int = 100
        public var stepSize: Double = 1.0
        public var maxAscentSteps: Int = 20
        /// Architectures proposed per round.
        public var proposalsPerRound: Int = 10
        /// Spaces with at most this many architectures may also be ranked exhaustively (see `exhaustiveShare`).
        public var scoreAllLimit: Int = 20_000
        /// Share of each round's proposals taken from the exhaustive ranking (the rest come from
        /// gradient ascent) when the space has at most `scoreAllLimit` architectures.
        public var exhaustiveShare: Double = 0
        /// Random architectures (no labels, no queries) added to the reconstruction loss, so the
        /// decoder learns the whole space rather than the few labelled sequences (SemiNAO, Luo et
        /// al. 2020); 0 trains the autoencoder on the labelled architectures alone, as NAO does.
        public var unlabelledSamples: Int = 500
        /// Also start the ascent from every unlabelled architecture (multi-start ascent over the
        /// space), not only from the `ascentSeeds` best labelled ones.
        public var ascentFromUnlabelled: Bool = true
        /// Regress the predictor on each objective's rank rather than its standardised value, so
        /// a long tail of broken architectures does not compress the differences among the best.
        public var rankTargets: Bool = true
        public init() {}
    }

    public static var name: String { "nao" }

    public var space: Space
    public let hyperparameters: Hyperparameters
    var rng: SeededGenerator
    public var modelBased = ModelBasedState<Space.Architecture>()
    /// Encoder/predictor/decoder weights (nil before the first round).
    var weights: FlatWeights?
    /// Choice vectors of the unlabelled architectures (drawn at the first round).
    var unlabelled: [[Int]] = []

    public init(space: Space, hyperparameters h: Hyperparameters = .init(), seed: UInt64) throws {
        for (name, v) in [("initial_samples", h.initialSamples), ("embedding_size", h.embeddingSize),
                          ("hidden_size", h.hiddenSize), ("predictor_width", h.predictorWidth),
                          ("epochs", h.epochs), ("first_epochs", h.firstEpochs), ("ascent_seeds", h.ascentSeeds),
                          ("max_ascent_steps", h.maxAscentSteps), ("proposals_per_round", h.proposalsPerRound)] where v < 1 {
            throw StrategyError.invalidHyperparameter("\(name) must be ≥ 1")
        }
        guard h.unlabelledSamples >= 0 else { throw StrategyError.invalidHyperparameter("unlabelled_samples must be ≥ 0") }
        guard (0...1).contains(h.tradeOff), (0...1).contains(h.exhaustiveShare) else {
            throw StrategyError.invalidHyperparameter("trade_off and exhaustive_share must be in [0, 1]")
        }
        guard h.learningRate > 0, h.stepSize > 0 else {
            throw StrategyError.invalidHyperparameter("learning_rate and step_size must be > 0")
        }
        self.space = space
        self.hyperparameters = h
        self.rng = SeededGenerator(seed: seed)
    }

    var layout: TokenLayout { TokenLayout(counts: space.choiceCounts) }

    public mutating func randomArchitecture() -> Space.Architecture { space.sample(using: &rng) }

    /// A model with the stored weights, or a fresh one drawn from the strategy's generator.
    mutating func currentModel() throws -> NAOModel {
        let h = hyperparameters
        var modelRNG = SeededGenerator(seed: weights == nil ? rng.next() : 0)
        let model = NAOModel(layout: layout, embeddingSize: h.embeddingSize, hiddenSize: h.hiddenSize,
                             predictorWidth: h.predictorWidth, using: &modelRNG)
        if let w = weights { try w.load(into: model) }
        return model
    }

    /// Trains the model further on the history, then returns the round's proposals, best first.
    public mutating func round() throws -> [Space.Architecture] {
        let h = hyperparameters
        let firstRound = weights == nil
        let model = try currentModel()
        if firstRound {
            unlabelled = (0..<h.unlabelledSamples).map { _ in space.choices(of: space.sample(using: &rng)) }
        }
        let choices = modelBased.history.map { space.choices(of: $0.architecture) }
        let sequences = choices + unlabelled
        let (mean, std) = standardisation(modelBased.history.map(\.objective))
        let objectives = modelBased.history.map(\.objective)
        let targets = Tensor(shape: [modelBased.history.count, 1],
                             data: h.rankTargets ? Self.rankTargets(objectives) : objectives.map { Float(($0 - mean) / std) })
        let optimizer = Adam(model.parameters(), lr: Float(h.learningRate))
        let lambda = Float(h.tradeOff)
        for _ in 0..<(firstRound ? h.firstEpochs : h.epochs) {
            optimizer.zeroGrad()
            let z = model.encode(sequences)
            let labelled = unlabelled.isEmpty ? z : z.slice(axis: 0, 0..<choices.count)
            let loss = lambda * mseLoss(model.predict(labelled), targets) + (1 - lambda) * model.reconstructionLoss(z, sequences)
            loss.backward()
            optimizer.step()
        }
        weights = FlatWeights(model)

        let layout = self.layout
        let all = h.scoreAllLimit > 0 && h.exhaustiveShare > 0 ? layout.allChoices(limit: h.scoreAllLimit) : nil
        let ascentQuota = all == nil ? h.proposalsPerRound
            : h.proposalsPerRound - Int((Double(h.proposalsPerRound) * h.exhaustiveShare).rounded())
        var ranked: [Space.Architecture] = []
        if ascentQuota > 0 { ranked = ascentCandidates(model) }
        guard let all else { return Array(ranked.prefix(h.proposalsPerRound)) }
        // Every architecture scored by the same encoder + predictor (prefix-shared encoding).
        let allScores = withoutGrad { model.predict(model.encodeAll()).array }
        let fromAscent = min(ranked.count, ascentQuota)
        var result = Array(ranked.prefix(fromAscent))
        var taken = Set(result)
        for choices in bestFirst(all, scores: allScores) where result.count < h.proposalsPerRound {
            let a = space.architecture(choices: choices)
            if !modelBased.proposed.contains(a), taken.insert(a).inserted { result.append(a) }
        }
        return result
    }

    /// Each objective's rank among `ys` (ties: mean rank) scaled to [−√3, √3], the range of a
    /// standardised uniform variable.
    static func rankTargets(_ ys: [Double]) -> [Float] {
        let n = ys.count
        if n < 2 { return ys.map { _ in 0 } }
        return ys.map { y in
            let below = ys.filter { $0 < y }.count, equal = ys.filter { $0 == y }.count
            let r = (Double(below) + Double(equal - 1) / 2) / Double(n - 1)
            return Float((r - 0.5) * 12.0.squareRoot())
        }
    }

    /// NAO's gradient-ascent candidates, best predicted first: the embeddings of the `ascentSeeds`
    /// best evaluated architectures (and of the unlabelled ones, with `ascentFromUnlabelled`)
    /// take `maxAscentSteps` steps z ← z + η·∂f/∂z, the gradient recomputed at each point, and
    /// every decoding not proposed before joins the pool (the paper raises η until a seed decodes
    /// to something new; keeping every new decoding on the way gives the predictor a larger pool
    /// to choose from at no query cost).
    func ascentCandidates(_ model: NAOModel) -> [Space.Architecture] {
        let h = hyperparameters
        var seeds = modelBased.best(h.ascentSeeds).map { space.choices(of: $0) }
        if h.ascentFromUnlabelled { seeds += unlabelled }
        var candidates: [Space.Architecture] = []
        var inPool = Set<Space.Architecture>()
        let z = withoutGrad { model.encode(seeds) }
        var point = z
        for _ in 1...h.maxAscentSteps {
            let step = model.ascentDirection(point)
            point = withoutGrad { point + Float(h.stepSize) * step }
            for c in model.decode(point) {
                let a = space.architecture(choices: c)
                if !modelBased.proposed.contains(a), inPool.insert(a).inserted { candidates.append(a) }
            }
        }
        // NAO's own candidates, ranked by the predictor on their re-encoded embeddings.
        if !candidates.isEmpty {
            let scores: [Float] = withoutGrad { model.predict(model.encode(candidates.map { space.choices(of: $0) })).array }
            return bestFirst(candidates, scores: scores)
        }
        return []
    }
}
