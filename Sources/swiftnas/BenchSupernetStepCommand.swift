import ArgumentParser
import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor
import NASWeightSharing

/// `swiftnas bench-supernet-step` (hidden): median time of one supernet weight step — forward,
/// backward, gradient clipping, SGD-momentum update — in the relaxed (all five ops, DARTS/DNAL)
/// and single-path (SPOS/RLNAS/MdeNAS) modes, at the CPU-scale supernet. bench/supernet_step.sh
/// compares it with bench/supernet_step_torch.py on the same supernet.
struct BenchSupernetStepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-supernet-step", abstract: "Time one NAS-Bench-201 supernet training step.", shouldDisplay: false)

    @Option var channels = 8
    @Option var cells = 1
    @Option var size = 16
    @Option var batch = 64
    @Option var steps = 30
    @Option var warmup = 5
    @Option var threads: Int?

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let config = NB201NetworkConfig(channels: channels, cellsPerStage: cells, inputChannels: 1, classes: 10, affine: false)
        let net = NB201Supernet(config: config, seed: 0)
        let sgd = SGD(net.parameters(), lr: 0.025, momentum: 0.9, weightDecay: 3e-4)
        var rng = SeededGenerator(seed: 1)
        let x = Tensor(shape: [batch, size, size, 1], data: (0..<(batch * size * size)).map { _ in rng.nextNormal() })
        let labels = (0..<batch).map { _ in Int(rng.next() % 10) }
        let alpha = Tensor(shape: [6, 5], data: (0..<30).map { _ in 1e-3 * rng.nextNormal() })
        let weights = softmax(alpha)
        var pathRng = SeededGenerator(seed: 2)
        func step(_ mode: SupernetMode) {
            net.zeroGrad()
            let loss = crossEntropy(net(x, mode: mode), targets: labels)
            loss.backward()
            clipGradNorm(sgd.parameters, maxNorm: 5)
            sgd.step()
        }
        func median(_ mode: () -> SupernetMode) -> Double {
            for _ in 0..<warmup { step(mode()) }
            var times: [Double] = []
            for _ in 0..<steps {
                let m = mode()
                let t = DispatchTime.now().uptimeNanoseconds
                step(m)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
            }
            return times.sorted()[times.count / 2]
        }
        let weighted = median { .weighted(weights) }
        let path = median { .path(ArchitectureChoices((0..<6).map { _ in [Int(pathRng.next() % 5)] })) }
        print(String(format: "swiftnas supernet step C=%d N=%d %dx%d batch %d threads %d: weighted_ms=%.3f path_ms=%.3f",
                     channels, cells, size, size, batch, Parallel.threadCount, weighted, path))
    }
}
