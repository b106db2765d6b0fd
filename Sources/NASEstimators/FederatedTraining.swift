import Foundation
import NASData
import NASNN
import NASTensor

/// Label-skewed client splits: for each class, its samples are shared among the clients in
/// proportions drawn from Dirichlet(α) (Hsu et al. 2019) — small α gives each client few
/// classes, large α (e.g. 100) approaches an IID split.
public enum DirichletPartition {
    /// Sample indices per client, each list in increasing order; every sample is in one list.
    public static func split(labels: [Int], classes: Int, clients: Int, alpha: Double, seed: UInt64) -> [[Int]] {
        var rng = SeededGenerator(seed: seed)
        var parts = [[Int]](repeating: [], count: clients)
        for c in 0..<classes {
            var members = labels.indices.filter { labels[$0] == c }
            for i in stride(from: members.count - 1, to: 0, by: -1) { members.swapAt(i, rng.uniformIndex(below: i + 1)) }
            let weights = (0..<clients).map { _ in gamma(shape: alpha, using: &rng) }
            let total = weights.reduce(0, +)
            var start = 0, cumulative = 0.0
            for k in 0..<clients {
                cumulative += weights[k] / total
                let end = k == clients - 1 ? members.count : Swift.min(members.count, Int((cumulative * Double(members.count)).rounded()))
                if end > start { parts[k] += members[start..<end] }
                start = Swift.max(start, end)
            }
        }
        return parts.map { $0.sorted() }
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang (2000); shapes below 1 through Gamma(shape + 1)·U^{1/shape}.
    static func gamma(shape: Double, using rng: inout SeededGenerator) -> Double {
        if shape < 1 {
            let u = Swift.max(rng.unitDouble(), 1e-300)
            return gamma(shape: shape + 1, using: &rng) * Foundation.pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            let x = Double(rng.nextNormal())
            let v0 = 1 + c * x
            guard v0 > 0 else { continue }
            let v = v0 * v0 * v0
            let u = Swift.max(rng.unitDouble(), 1e-300)
            if Foundation.log(u) < 0.5 * x * x + d - d * v + d * Foundation.log(v) { return d * v }
        }
    }
}

/// Federated training simulated on one machine (McMahan et al. 2017): `clients` hold Dirichlet
/// label-skewed shares of the training set; each round a `clientFraction` of them, drawn with
/// the seed, train the global model locally and the server combines the results.
/// `fedavg` averages the clients' weights and buffers weighted by their sample counts;
/// `cyclic` trains the global model on the chosen clients one after another (cyclic weight
/// transfer), the sequential baseline Qu et al. (CVPR 2022) compare with.
public enum FederatedAlgorithm: String, Codable, Sendable, CaseIterable {
    case fedavg, cyclic
}

public struct FederatedConfig: Codable, Equatable, Sendable {
    public var algorithm: FederatedAlgorithm = .fedavg
    public var clients = 10
    /// Dirichlet concentration of the label split (small: skewed; 100: about IID).
    public var alpha = 0.5
    public var rounds = 10
    public var localEpochs = 1
    public var clientFraction = 0.5
    public var batchSize = 32
    public var learningRate: Float = 1e-3
    public var seed: UInt64 = 0

    public init() {}

    public var problem: String? {
        if clients < 1 || clients > 10_000 { return "clients must be in 1…10000 (got \(clients))" }
        if !(alpha.isFinite && alpha > 0) { return "alpha must be positive (got \(alpha))" }
        if rounds < 1 || localEpochs < 1 || batchSize < 1 { return "rounds, local epochs and batch size must be at least 1" }
        if !(clientFraction > 0 && clientFraction <= 1) { return "client fraction must be in (0, 1] (got \(clientFraction))" }
        if !(learningRate.isFinite && learningRate > 0) { return "learning rate must be positive" }
        return nil
    }
}

public enum FederatedTraining {
    /// Test accuracy (%) of the global model after every round.
    public static func run(model makeModel: () throws -> any Layer, config c: FederatedConfig, train: Dataset, test: Dataset) throws -> [Double] {
        if let problem = c.problem { throw TrainingError.badConfig(problem) }
        let parts = DirichletPartition.split(labels: train.labels, classes: train.classCount, clients: c.clients,
                                             alpha: c.alpha, seed: c.seed ^ 0xFED)
        let clientData = parts.map { train.subset($0) }
        var rng = SeededGenerator(seed: c.seed ^ 0xC11E)
        let global = try makeModel()
        let perRound = Swift.max(1, Int((c.clientFraction * Double(c.clients)).rounded()))
        var accuracies: [Double] = []
        for round in 0..<c.rounds {
            try StopRequest.check()
            var pool = Array(0..<c.clients)
            for i in 0..<perRound { pool.swapAt(i, i + rng.uniformIndex(below: c.clients - i)) }
            let chosen = pool.prefix(perRound).filter { clientData[$0].count > 0 }
            if c.algorithm == .cyclic {
                for k in chosen { try trainLocally(global, on: clientData[k], c, seed: rng.next()) }
            } else {
                let names = global.namedTensors().map(\.0)
                var sums = [String: [Double]]()
                var total = 0
                for k in chosen {
                    let local = try makeModel()
                    try local.load(stateDict: global.stateDict())
                    try trainLocally(local, on: clientData[k], c, seed: rng.next())
                    let n = clientData[k].count
                    total += n
                    for (name, t) in local.namedTensors() {
                        let values = t.array
                        var s = sums[name] ?? [Double](repeating: 0, count: values.count)
                        for i in values.indices { s[i] += Double(n) * Double(values[i]) }
                        sums[name] = s
                    }
                }
                let own = Dictionary(uniqueKeysWithValues: global.namedTensors())
                for name in names {
                    guard let s = sums[name], let t = own[name], total > 0 else { continue }
                    t.assign(Tensor(shape: t.shape, data: s.map { Float($0 / Double(total)) }))
                }
            }
            accuracies.append(100 * Trainer.evaluate(global, on: test).accuracy)
        }
        return accuracies
    }

    /// `localEpochs` of Adam (fresh each time, as clients keep no optimizer state) on one client.
    static func trainLocally(_ model: any Layer, on data: Dataset, _ c: FederatedConfig, seed: UInt64) throws {
        let optimizer = Adam(model.parameters(), lr: c.learningRate)
        let loader = BatchLoader(data, batchSize: c.batchSize, shuffle: true, seed: seed)
        model.train()
        for epoch in 0..<c.localEpochs {
            for batch in loader.epoch(epoch) {
                let loss = crossEntropy(model(batch.images), targets: batch.labels)
                guard loss.item.isFinite else {
                    throw TrainingError.nonFiniteLoss(epoch: epoch, batch: 0, value: loss.item, learningRate: c.learningRate)
                }
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
            }
        }
    }
}
