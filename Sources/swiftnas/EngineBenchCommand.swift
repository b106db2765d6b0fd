import ArgumentParser
import Foundation
import NASNN
import NASTensor

/// `swiftnas bench-step`: times training steps of the reference CNN (used by bench/engine_vs_torch.sh).
struct EngineBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-step",
        abstract: "Time full training steps (forward, backward, SGD-momentum update) of the reference CNN.",
        discussion: "Batch of random 32×32×3 images, three conv3×3-16+BN+ReLU, global average pool, linear-10, cross-entropy. Prints the median step time and peak resident memory.")

    @Option(name: .customLong("batch-size"), help: "Images per step.") var batchSize = 64
    @Option(help: "Timed steps after warm-up.") var steps = 30
    @Option(help: "Warm-up steps.") var warmup = 5
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        var rng = SeededGenerator(seed: 0)
        let model = ModelZoo.referenceCNN(channels: 3, classes: 10, using: &rng)
        let opt = SGD(model.parameters(), lr: 0.01, momentum: 0.9)
        let x = Tensor.normal([batchSize, 32, 32, 3], using: &rng)
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
