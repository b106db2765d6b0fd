import ArgumentParser
import Foundation
import NASArchitectures
import NASNN
import NASSpaces
import NASTensor

/// `swiftnas bench-step`: times training steps of the reference CNN (bench/engine_vs_torch.sh),
/// a NAS-Bench-201 network (bench/nb201_step.sh) or a ViT (bench/vit_step.sh).
struct EngineBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-step",
        abstract: "Time full training steps (forward, backward, update) of the reference CNN, a NAS-Bench-201 network or a ViT.",
        discussion: "refcnn: a batch of random 32×32×3 images, three conv3×3-16+BN+ReLU, global average pool, linear-10, cross-entropy, SGD with momentum. nb201: the network of --arch (C = --channels, N = --cells) on random 32×32×3 images, cross-entropy, SGD with momentum. vit: random 28×28×1 images, the ViT of --param (defaults as `train --model vit`), cross-entropy, Adam. Prints the median step time and peak resident memory.")

    @Option(help: "refcnn (default), nb201 or vit.") var model = "refcnn"
    @Option(help: "NAS-Bench-201 cell string (--model nb201).")
    var arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    @Option(help: "Stem channels C of the NAS-Bench-201 network.") var channels = 16
    @Option(help: "Cells per stage N of the NAS-Bench-201 network.") var cells = 5
    @Option(name: .customLong("param"), help: ArgumentHelp("ViT setting key=value (repeatable), as for `train --model vit`.", valueName: "key=value"))
    var params: [String] = []

    @Option(name: .customLong("batch-size"), help: "Images per step.") var batchSize = 64
    @Option(help: "Timed steps after warm-up.") var steps = 30
    @Option(help: "Warm-up steps.") var warmup = 5
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func validate() throws {
        try validateCounts([("--batch-size", batchSize, 1), ("--steps", steps, 1), ("--warmup", warmup, 0),
                            ("--channels", channels, 1), ("--cells", cells, 1)])
        if let threads { try validateThreads(threads) }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        var rng = SeededGenerator(seed: 0)
        let model: any Layer, opt: any Optimizer, x: Tensor
        if ["refcnn", "nb201"].contains(self.model), !params.isEmpty { throw ValidationError("--param applies to --model vit only") }
        switch self.model {
        case "refcnn":
            let cnn = ModelZoo.referenceCNN(channels: 3, classes: 10, using: &rng)
            (model, opt) = (cnn, SGD(cnn.parameters(), lr: 0.01, momentum: 0.9))
            x = Tensor.normal([batchSize, 32, 32, 3], using: &rng)
        case "nb201":
            let cell: NB201Cell
            do { cell = try NB201Cell(parsing: arch) } catch { throw ValidationError("--arch: \(error)") }
            let net = NB201Network(cell: cell, config: NB201NetworkConfig(channels: channels, cellsPerStage: cells), seed: 0)
            (model, opt) = (net, SGD(net.parameters(), lr: 0.01, momentum: 0.9))
            x = Tensor.normal([batchSize, 32, 32, 3], using: &rng)
        case "vit":
            let vit = try ModelZoo.make("vit", height: 28, width: 28, channels: 1, classes: 10,
                                        parameters: try keyValueOverrides(params), seed: 0)
            (model, opt) = (vit, Adam(vit.parameters(), lr: 1e-3))
            x = Tensor.normal([batchSize, 28, 28, 1], using: &rng)
        default:
            throw ValidationError("--model is refcnn, nb201 or vit (got '\(self.model)')")
        }
        let y = (0..<batchSize).map { $0 % 10 }
        var times: [Double] = []
        for i in 0..<(warmup + steps) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let loss = crossEntropy(model(x), targets: y)
            opt.zeroGrad()
            loss.backward()
            opt.step()
            let t1 = DispatchTime.now().uptimeNanoseconds
            if i >= warmup { times.append(Double(t1 - t0) / 1e6) }
        }
        times.sort()
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print(String(format: "swiftnas_step_ms=%.3f peak_rss_mb=%.1f threads=%d", times[times.count / 2],
                     Double(usage.ru_maxrss) / 1024, Parallel.threadCount))
    }
}
