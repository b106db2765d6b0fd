import ArgumentParser
import Foundation
import NASData
import NASEstimators
import NASNN
import NASTensor

/// `swiftnas federated`: a CNN and a ViT trained by federated learning over Dirichlet splits.
struct FederatedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federated",
        abstract: "Federated training (FedAvg or cyclic) of built-in models over Dirichlet(α) label-skewed clients.",
        discussion: """
        For each --models entry, each α in --alphas and each seed in --seeds, the first --train-images \
        training images are split among --clients clients by Dirichlet(α) over each class (α = 100 is \
        close to IID); every round a --client-fraction of clients trains the global model for \
        --local-epochs with Adam (--lr, batch --batch-size) and the server averages (fedavg) or passes \
        the model from client to client (cyclic). The global model is scored on the first --test-images \
        test images after every round. --vit-param sets the ViT (as `train --model vit --param`). \
        Writes <out>/rounds.csv and <out>/accuracy.svg (seed-mean accuracy per round) and prints, per \
        model, the final accuracy per α and the gap between the largest and the smallest α.
        """)

    @Option(help: "Image data set (IDX folder such as Fashion-MNIST).") var data: String
    @Option(help: "Output folder.") var out: String
    @Option(help: "Models, comma-separated (cnn, mlp, refcnn, vit).") var models = "cnn,vit"
    @Option(name: .customLong("vit-param"), help: ArgumentHelp("ViT setting key=value (repeatable).", valueName: "key=value"))
    var vitParams: [String] = []
    @Option(help: "Dirichlet concentrations, comma-separated.") var alphas = "0.1,0.5,100"
    @Option(help: "Seeds, comma-separated.") var seeds = "0,1,2"
    @Option(help: "fedavg or cyclic.") var algorithm = "fedavg"
    @Option var clients = 10
    @Option var rounds = 10
    @Option(name: .customLong("local-epochs")) var localEpochs = 1
    @Option(name: .customLong("client-fraction")) var clientFraction = 0.5
    @Option(name: .customLong("batch-size")) var batchSize = 32
    @Option var lr: Float = 1e-3
    @Option(name: .customLong("train-images")) var trainImages = 5000
    @Option(name: .customLong("test-images")) var testImages = 2000

    func run() throws {
        let alphaList: [Double] = try commaSeparated(alphas, "--alphas")
        let seedList: [UInt64] = try commaSeparated(seeds, "--seeds")
        let modelList = models.split(separator: ",").map(String.init)
        if let bad = modelList.first(where: { !ModelZoo.names.contains($0) }) {
            throw ValidationError("--models: unknown model '\(bad)'; choose from \(ModelZoo.names.joined(separator: ", "))")
        }
        try runAll(alphaList, seedList, modelList)
    }

    func runAll(_ alphaList: [Double], _ seedList: [UInt64], _ modelList: [String]) throws {
        guard let method = FederatedAlgorithm(rawValue: algorithm) else {
            throw ValidationError("--algorithm is fedavg or cyclic (got '\(algorithm)')")
        }
        var base = FederatedConfig()
        (base.clients, base.rounds, base.localEpochs, base.clientFraction) = (clients, rounds, localEpochs, clientFraction)
        (base.algorithm, base.batchSize, base.learningRate) = (method, batchSize, lr)
        for a in alphaList {
            var c = base
            c.alpha = a
            if let problem = c.problem { throw ValidationError(problem) }
        }
        let (train, test) = try firstImagesNormalized(data, trainImages: trainImages, testImages: testImages)
        let vit = try keyValueOverrides(vitParams)
        func make(_ name: String, seed: UInt64) throws -> any Layer {
            try ModelZoo.make(name, height: train.height, width: train.width, channels: train.channels, classes: train.classCount,
                              parameters: name == "vit" ? vit : [:], seed: seed)
        }
        try makeOutputFolder(out, flag: "--out")
        print("\(algorithm): \(clients) clients, \(rounds) rounds, fraction \(clientFraction), \(localEpochs) local epoch(s), Adam \(lr), "
              + "batch \(batchSize); \(trainImages) training / \(testImages) test images")
        var csv = "model,alpha,seed,round,test_accuracy\n"
        var plot = LinePlot(title: "Federated \(algorithm): test accuracy per round (mean over seeds)", xLabel: "round", yLabel: "test accuracy (%)")
        let colors = ["#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd"]
        for name in modelList {
            let parameters = try make(name, seed: 0).parameterCount
            var finals: [(alpha: Double, values: [Double])] = []
            for (k, a) in alphaList.enumerated() {
                var curves: [[Double]] = []
                for seed in seedList {
                    var c = base
                    c.alpha = a
                    c.seed = seed
                    let start = Date()
                    let curve = try FederatedTraining.run(model: { try make(name, seed: seed) }, config: c, train: train, test: test)
                    curves.append(curve)
                    for (r, acc) in curve.enumerated() { csv += "\(name),\(a),\(seed),\(r + 1),\(acc)\n" }
                    print(String(format: "%@ α=%g seed %d: final %.2f%%  %.0f s", name, a, seed, curve.last ?? .nan, Date().timeIntervalSince(start)))
                }
                finals.append((a, curves.compactMap(\.last)))
                let points = (0..<rounds).map { r in (x: Double(r + 1), y: mean(curves.map { $0[r] })) }
                plot.series.append(.init(label: "\(name) α=\(a)", color: colors[k % colors.count], dashed: name != modelList.first, points: points))
            }
            print("")
            print("\(name) (\(parameters) parameters): final test accuracy, mean ± sd over seeds \(seeds)")
            print("| α | accuracy |")
            print("|---|---|")
            for f in finals { print(String(format: "| %g | %.2f ± %.2f |", f.alpha, mean(f.values), sampleStandardDeviation(f.values))) }
            if let iid = finals.max(by: { $0.alpha < $1.alpha }), let skewed = finals.min(by: { $0.alpha < $1.alpha }), finals.count > 1 {
                print(String(format: "%@ gap (α=%g minus α=%g): %.2f points", name, iid.alpha, skewed.alpha, mean(iid.values) - mean(skewed.values)))
            }
            print("")
        }
        try AtomicFile.write(csv, to: URL(fileURLWithPath: out + "/rounds.csv"))
        try AtomicFile.write(plot.svg(), to: URL(fileURLWithPath: out + "/accuracy.svg"))
        print("wrote \(out)/rounds.csv, accuracy.svg")
    }
}
