import Foundation
import XCTest
import NASTensor

/// A seeded training run is reproducible bit for bit for a fixed `Parallel.threadCount`.
final class DeterminismTests: ThreadCountRestoringTestCase {
    private struct RunResult {
        var losses: [Float]
        var parameters: [[Float]]
    }

    /// A few SGD steps of a tiny conv net built from primitives: conv → batch norm → ReLU →
    /// depthwise conv (stride 2) → max pool → dropout → global average pool → linear → cross-entropy.
    private func train(seed: UInt64, steps: Int = 5) -> RunResult {
        var rng = SeededGenerator(seed: seed)
        let x = Tensor.normal([4, 8, 8, 3], using: &rng)
        let labels = (0..<4).map { _ in Int(rng.next() % 3) }
        let w1 = Tensor.normal([6, 3, 3, 3], std: 0.3, using: &rng, requiresGrad: true)
        let b1 = Tensor(zeros: [6], requiresGrad: true)
        let gamma = Tensor(repeating: 1, shape: [6], requiresGrad: true)
        let beta = Tensor(zeros: [6], requiresGrad: true)
        let w2 = Tensor.normal([6, 3, 3, 1], std: 0.3, using: &rng, requiresGrad: true)
        let fc = Tensor.normal([3, 6], std: 0.3, using: &rng, requiresGrad: true)
        let fcBias = Tensor(zeros: [3], requiresGrad: true)
        let parameters = [w1, b1, gamma, beta, w2, fc, fcBias]
        let runningMean = Tensor(zeros: [6]), runningVar = Tensor(repeating: 1, shape: [6])

        var losses: [Float] = []
        for _ in 0..<steps {
            var h = conv2d(x, w1, bias: b1, Conv2dOptions(padding: 1))
            h = batchNorm(h, weight: gamma, bias: beta, runningMean: runningMean, runningVar: runningVar, training: true)
            h = relu(h)
            h = conv2d(h, w2, Conv2dOptions(stride: 2, padding: 1, groups: 6))
            h = maxPool2d(h, kernel: 2)
            h = dropout(h, p: 0.2, training: true, using: &rng)
            let logits = matmul(globalAvgPool2d(h), fc, transposeB: true) + fcBias
            let loss = crossEntropy(logits, targets: labels, labelSmoothing: 0.1)
            losses.append(loss.item)
            loss.backward()
            withoutGrad {
                for p in parameters {
                    let g = p.grad!
                    for i in 0..<p.count { p.data[i] -= 0.5 * g.data[i] }
                    p.zeroGrad()
                }
            }
        }
        return RunResult(losses: losses, parameters: parameters.map(\.array) + [runningMean.array, runningVar.array])
    }

    private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    func testSeededTrainingIsBitIdentical() {
        for threads in [1, 2] {
            Parallel.threadCount = threads
            let first = train(seed: 7), second = train(seed: 7)
            XCTAssertEqual(bits(first.losses), bits(second.losses), "losses with \(threads) threads")
            XCTAssertEqual(first.parameters.map(bits), second.parameters.map(bits), "parameters with \(threads) threads")
            XCTAssertTrue(first.losses.allSatisfy(\.isFinite))
            XCTAssertLessThan(first.losses.last ?? .nan, first.losses.first ?? .nan, "SGD should reduce the training loss")
        }
    }

    func testThreadCountChangesOnlyRounding() {
        Parallel.threadCount = 1
        let single = train(seed: 11)
        Parallel.threadCount = 2
        let double = train(seed: 11)
        assertClose(double.losses, single.losses, rtol: 1e-4, atol: 1e-5, "losses across thread counts")
    }

    func testDifferentSeedsDiffer() {
        Parallel.threadCount = 2
        XCTAssertNotEqual(bits(train(seed: 1, steps: 1).losses), bits(train(seed: 2, steps: 1).losses))
    }
}
