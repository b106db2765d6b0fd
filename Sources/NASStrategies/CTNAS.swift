import Foundation
import NASNN
import NASSpaces
import NASTensor

/// The neural architecture comparator (NAC) of CTNAS: a two-layer graph convolutional network
/// embeds each architecture's DAG (node-type one-hots propagated by the normalised adjacency,
/// H' = ReLU(Â·H·W), then the mean over nodes), and an MLP on [e_a, e_b, e_a − e_b] gives the
/// logit of P(a better than b).
final class Comparator: Module {
    let gcn1: Linear
    let gcn2: Linear
    let hidden: Linear
    let out: Linear
    let typeCount: Int

    init(typeCount: Int, gcnWidth: Int, mlpWidth: Int, using rng: inout SeededGenerator) {
        self.typeCount = typeCount
        gcn1 = Linear(typeCount, gcnWidth, using: &rng)
        gcn2 = Linear(gcnWidth, gcnWidth, using: &rng)
        hidden = Linear(3 * gcnWidth, mlpWidth, using: &rng)
        out = Linear(mlpWidth, 1, using: &rng)
    }

    /// Graph embeddings `[B, W]` of `graphs` (all with the same node count).
    func embed(_ graphs: [CellGraph]) -> Tensor {
        let b = graphs.count, n = graphs[0].nodeCount
        var features = [Float](repeating: 0, count: b * n * typeCount)
        for (g, graph) in graphs.enumerated() {
            precondition(graph.nodeCount == n, "comparator batches need graphs of one size")
            for (v, t) in graph.nodeTypes.enumerated() { features[(g * n + v) * typeCount + t] = 1 }
        }
        let x = Tensor(shape: [b, n, typeCount], data: features)
        let h1 = relu(gcn1(propagate(x, graphs)))
        let h2 = relu(gcn2(propagate(h1, graphs)))
        return h2.mean(axes: [1])
    }

    /// Â·H for node features `[B, n, F]`. When every graph has the same edges (NB201: the
    /// topology is fixed, only node types differ) this is one `[n, n] × [n, B·F]` product;
    /// otherwise a batched product with each graph's own Â.
    func propagate(_ h: Tensor, _ graphs: [CellGraph]) -> Tensor {
        let b = h.shape[0], n = h.shape[1], f = h.shape[2]
        let first = graphs[0]
        if graphs.allSatisfy({ $0.edges.count == first.edges.count
            && zip($0.edges, first.edges).allSatisfy { $0.from == $1.from && $0.to == $1.to } }) {
            let a = Tensor(shape: [n, n], data: first.normalisedAdjacency())
            let columns = h.permuted([1, 0, 2]).reshaped([n, b * f])
            return matmul(a, columns).reshaped([n, b, f]).permuted([1, 0, 2])
        }
        var adjacency: [Float] = []
        adjacency.reserveCapacity(b * n * n)
        for g in graphs { adjacency += g.normalisedAdjacency() }
        return matmul(Tensor(shape: [b, n, n], data: adjacency), h)
    }

    /// Logits `[P, 1]` of P(a better than b) for embedding rows.
    func compare(_ ea: Tensor, _ eb: Tensor) -> Tensor {
        out(relu(hidden(concatenate([ea, eb, ea - eb], axis: 1))))
    }

    /// Mean binary cross-entropy of logits `[P, 1]` against labels (1: a better).
    static func loss(_ logits: Tensor, _ labels: [Int]) -> Tensor {
        crossEntropy(concatenate([Tensor(zeros: logits.shape), logits], axis: 1), targets: labels)
    }
}

/// Hyper-parameters of CTNAS (shared by every space it runs on).
public struct CTNASHyperparameters: Codable, Equatable, Sendable, ModelBasedHyperparameters {
    /// Random architectures labelled before the comparator is first trained.
    public var initialSamples: Int = 10
    /// Widths of the comparator's graph convolutions and of its MLP head.
    public var gcnWidth: Int = 32
    public var mlpWidth: Int = 32
    /// Adam's learning rate for the comparator.
    public var learningRate: Double = 0.005
    /// Comparator Adam steps per round (the first round trains `firstEpochs`).
    public var epochs: Int = 30
    public var firstEpochs: Int = 150
    /// Pairs drawn per comparator step (both orders of each pair are used).
    public var pairsPerStep: Int = 128
    /// Controller policy-gradient steps per round, each on `rollouts` sampled architectures.
    public var controllerSteps: Int = 10
    public var rollouts: Int = 32
    /// Adam's learning rate for the controller.
    public var controllerLearningRate: Double = 0.05
    /// Controller LSTM sizes (token embedding and hidden state).
    public var controllerEmbeddingSize: Int = 16
    public var controllerHiddenSize: Int = 32
    /// Weight of the policy's entropy in the controller's objective (keeps it exploring).
    public var entropyWeight: Double = 0.01
    /// Architectures sampled from the controller per round as candidates.
    public var candidateSamples: Int = 200
    /// Architectures proposed per round (the candidates the comparator ranks highest).
    public var proposalsPerRound: Int = 10
    /// When the space has at most this many architectures, every unlabelled one is also scored
    /// against the baseline (0: candidates come from the controller only).
    public var scoreAllLimit: Int = 0
    public init() {}
}

/// CTNAS: contrastive neural architecture search (Chen, Guo, Chen, Li, Zeng, Wang & Tan, CVPR 2021).
///
/// 1. Label `initialSamples` random architectures (table queries).
/// 2. Train the comparator on pairs of labelled architectures: target 1 when the first has the
///    higher objective. The comparator is kept between rounds and trained further.
/// 3. Baseline curriculum: the baseline is the best architecture labelled so far; it moves
///    every time a better one is found.
/// 4. Controller: an LSTM policy (`LSTMController`) trained by REINFORCE with reward
///    P(candidate better than baseline) from the comparator (batch-mean baseline, entropy bonus);
///    its weights are kept between rounds, each round's Adam starts afresh.
///    This costs no queries: the comparator is the reward model.
/// 5. Sample `candidateSamples` architectures from the controller, drop labelled ones, and label
///    the `proposalsPerRound` the comparator ranks highest against the baseline; go to 2.
///
/// Every label is a table query counted against the budget.
///
/// With several workers: each round's proposals are handed out to asks in order without waiting
/// for results, none twice; the comparator and the controller (whose reward is the comparator's,
/// not the tells') learn from the told results at the next round (see `ModelBasedStrategy`).
public struct CTNAS<Space: CellGraphSpace & Codable>: ModelBasedStrategy {
    public typealias Hyperparameters = CTNASHyperparameters

    public static var name: String { "ctnas" }

    public var space: Space
    public let hyperparameters: Hyperparameters
    var rng: SeededGenerator
    public var modelBased = ModelBasedState<Space.Architecture>()
    var weights: FlatWeights?
    /// Controller weights (nil before the first round).
    var controllerWeights: FlatWeights?

    public init(space: Space, hyperparameters h: Hyperparameters = .init(), seed: UInt64) throws {
        for (name, v) in [("initial_samples", h.initialSamples), ("gcn_width", h.gcnWidth), ("mlp_width", h.mlpWidth),
                          ("epochs", h.epochs), ("first_epochs", h.firstEpochs), ("pairs_per_step", h.pairsPerStep),
                          ("rollouts", h.rollouts), ("controller_embedding_size", h.controllerEmbeddingSize),
                          ("controller_hidden_size", h.controllerHiddenSize), ("candidate_samples", h.candidateSamples),
                          ("proposals_per_round", h.proposalsPerRound)] where v < 1 {
            throw StrategyError.invalidHyperparameter("\(name) must be ≥ 1")
        }
        guard h.controllerSteps >= 0, h.entropyWeight >= 0, h.scoreAllLimit >= 0 else {
            throw StrategyError.invalidHyperparameter("controller_steps, entropy_weight and score_all_limit must be ≥ 0")
        }
        guard h.learningRate > 0, h.controllerLearningRate > 0 else {
            throw StrategyError.invalidHyperparameter("learning rates must be > 0")
        }
        self.space = space
        self.hyperparameters = h
        self.rng = SeededGenerator(seed: seed)
    }

    /// The current baseline: the best labelled architecture.
    public var baseline: Space.Architecture? {
        modelBased.history.max { $0.objective < $1.objective }?.architecture
    }

    public mutating func randomArchitecture() -> Space.Architecture { space.sample(using: &rng) }

    mutating func currentComparator() throws -> Comparator {
        let h = hyperparameters
        var modelRNG = SeededGenerator(seed: weights == nil ? rng.next() : 0)
        let model = Comparator(typeCount: space.graphNodeTypeCount, gcnWidth: h.gcnWidth, mlpWidth: h.mlpWidth,
                               using: &modelRNG)
        if let w = weights { try w.load(into: model) }
        return model
    }

    /// Trains the comparator on random labelled pairs (both orders).
    mutating func trainComparator(_ model: Comparator, steps: Int) {
        let h = hyperparameters
        let graphs = modelBased.history.map { space.cellGraph(of: $0.architecture) }
        let ys = modelBased.history.map(\.objective)
        let n = modelBased.history.count
        let optimizer = Adam(model.parameters(), lr: Float(h.learningRate))
        for _ in 0..<steps {
            var first: [Int] = [], second: [Int] = [], labels: [Int] = []
            var tries = 0
            while first.count < 2 * h.pairsPerStep, tries < 8 * h.pairsPerStep {
                tries += 1
                let i = rng.uniformIndex(below: n), j = rng.uniformIndex(below: n)
                if ys[i] == ys[j] { continue }
                first += [i, j]; second += [j, i]
                labels += ys[i] > ys[j] ? [1, 0] : [0, 1]
            }
            if first.isEmpty { return }
            optimizer.zeroGrad()
            let e = model.embed(graphs)
            let loss = Comparator.loss(model.compare(embedding(e, indices: first), embedding(e, indices: second)), labels)
            loss.backward()
            optimizer.step()
        }
    }

    /// P(candidate better than `reference`) for each candidate.
    func probabilitiesBetter(_ model: Comparator, _ candidates: [Space.Architecture], than reference: Space.Architecture) -> [Double] {
        withoutGrad {
            var result: [Double] = []
            result.reserveCapacity(candidates.count)
            let eb = model.embed([space.cellGraph(of: reference)])
            let chunk = 2048
            var start = 0
            while start < candidates.count {
                let part = Array(candidates[start..<min(start + chunk, candidates.count)])
                let ea = model.embed(part.map { space.cellGraph(of: $0) })
                let ebs = eb.expanded(to: [part.count, eb.shape[1]])
                result += model.compare(ea, ebs).array.map { 1 / (1 + Foundation.exp(-Double($0))) }
                start += chunk
            }
            return result
        }
    }

    /// The controller with the stored weights, or a fresh one drawn from the strategy's generator.
    mutating func currentController() throws -> LSTMController {
        let h = hyperparameters
        var modelRNG = SeededGenerator(seed: controllerWeights == nil ? rng.next() : 0)
        let controller = LSTMController(layout: TokenLayout(counts: space.choiceCounts), embeddingSize: h.controllerEmbeddingSize,
                                         hiddenSize: h.controllerHiddenSize, using: &modelRNG)
        if let w = controllerWeights { try w.load(into: controller) }
        return controller
    }

    /// REINFORCE steps on the controller with the comparator's P(better than baseline) as reward:
    /// loss = −mean((r − r̄)·log π(a)) − w·H(π).
    mutating func trainController(_ controller: LSTMController, _ model: Comparator, baseline: Space.Architecture) {
        let h = hyperparameters
        let optimizer = Adam(controller.parameters(), lr: Float(h.controllerLearningRate))
        for _ in 0..<h.controllerSteps {
            let samples = controller.sample(h.rollouts, using: &rng)
            let rewards = probabilitiesBetter(model, samples.map { space.architecture(choices: $0) }, than: baseline)
            let meanReward = rewards.reduce(0, +) / Double(rewards.count)
            let weights = rewards.map { Float(($0 - meanReward) / Double(rewards.count)) }
            optimizer.zeroGrad()
            controller.policyGradientLoss(samples, weights: weights, entropyWeight: Float(h.entropyWeight)).backward()
            optimizer.step()
        }
        controllerWeights = FlatWeights(controller)
    }

    public mutating func round() throws -> [Space.Architecture] {
        let h = hyperparameters
        let firstRound = weights == nil
        let model = try currentComparator()
        trainComparator(model, steps: firstRound ? h.firstEpochs : h.epochs)
        weights = FlatWeights(model)
        guard let base = baseline else { return [] }
        let controller = try currentController()
        trainController(controller, model, baseline: base)

        var candidates: [Space.Architecture] = []
        var inPool = Set<Space.Architecture>()
        for choices in controller.sample(h.candidateSamples, using: &rng) {
            let a = space.architecture(choices: choices)
            if !modelBased.proposed.contains(a), inPool.insert(a).inserted { candidates.append(a) }
        }
        if h.scoreAllLimit > 0, let all = TokenLayout(counts: space.choiceCounts).allChoices(limit: h.scoreAllLimit) {
            for c in all {
                let a = space.architecture(choices: c)
                if !modelBased.proposed.contains(a), inPool.insert(a).inserted { candidates.append(a) }
            }
        }
        // The controller may have converged on labelled cells: add one-move neighbours of its mode.
        if candidates.count < h.proposalsPerRound {
            let mode = space.architecture(choices: controller.sample(1, greedy: true, using: &rng)[0])
            for a in space.neighbors(of: mode) + space.neighbors(of: base)
            where !modelBased.proposed.contains(a) && inPool.insert(a).inserted { candidates.append(a) }
        }
        if candidates.isEmpty { return [] }
        let scores = probabilitiesBetter(model, candidates, than: base)
        return Array(bestFirst(candidates, scores: scores).prefix(h.proposalsPerRound))
    }
}

/// Builds CTNAS for a space known (at run time) to be a cell-graph space.
public func makeCTNAS<G: CellGraphSpace & Codable, Space: SearchSpace>(_ graphSpace: G, space: Space,
                                                                 _ h: CTNASHyperparameters, seed: UInt64) throws
    -> any Strategy<Space> {
    let strategy = try CTNAS(space: graphSpace, hyperparameters: h, seed: seed)
    guard let typed = strategy as? any Strategy<Space> else {
        throw StrategyError.invalidHyperparameter("ctnas: space type mismatch")
    }
    return typed
}
