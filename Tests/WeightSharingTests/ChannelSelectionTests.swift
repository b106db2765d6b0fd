import Foundation
import NASData
import NASNN
import NASSpaces
import NASTensor
@testable import NASWeightSharing
import XCTest

final class ChannelSelectionTests: XCTestCase {
    func tinyBatch(_ n: Int, seed: UInt64) -> (Tensor, [Int]) {
        var rng = SeededGenerator(seed: seed)
        return (Tensor.normal([n, 4, 4, 1], std: 1, using: &rng), (0..<n).map { $0 % 3 })
    }

    /// The relaxed objective's gradient with respect to the selection logits, by central
    /// differences (float32, so the step and tolerance are loose but the check is per logit).
    func testRelaxationGradientsMatchFiniteDifferences() throws {
        let model = PrunableCNN(widths: [3, 2], classes: 3, seed: 1)
        model.eval()
        var method = ChannelSelection()
        method.penalty = 0.7
        let (images, labels) = tinyBatch(6, seed: 2)
        let uniforms: [[Float]] = [[0.2, 0.7, 0.45], [0.9, 0.3]]
        let start: [[Float]] = [[0.3, -0.4, 1.1], [0.2, -0.8]]
        func loss(_ values: [[Float]], grad: Bool) -> (Float, [[Float]]) {
            let alphas = values.map { Tensor(shape: [$0.count], data: $0, requiresGrad: grad) }
            let l = method.objective(model, alphas: alphas, uniforms: uniforms, noiseTemperature: 0.5, sharpness: 0.8, images: images, labels: labels)
            if grad { l.backward() }
            return (l.item, alphas.map { $0.grad?.array ?? [] })
        }
        let (_, analytic) = loss(start, grad: true)
        let h: Float = 1e-2
        for l in start.indices {
            for c in start[l].indices {
                var plus = start, minus = start
                plus[l][c] += h
                minus[l][c] -= h
                let numeric = (loss(plus, grad: false).0 - loss(minus, grad: false).0) / (2 * h)
                XCTAssertEqual(analytic[l][c], numeric, accuracy: 2e-3 + 0.02 * abs(numeric), "logit \(l).\(c)")
            }
        }
    }

    func testExpectedSizeOfHardGatesIsTheParameterCount() {
        let gates = [Tensor(shape: [4], data: [1, 0, 1, 1]), Tensor(shape: [3], data: [1, 1, 0])]
        let size = ChannelSelection.expectedSize(gates, inputChannels: 1, classes: 10).item
        XCTAssertEqual(Int(size), PrunableCNN.parameterCount(widths: [3, 2], inputChannels: 1, classes: 10))
        XCTAssertEqual(PrunableCNN(widths: [3, 2], seed: 0).parameterCount, PrunableCNN.parameterCount(widths: [3, 2]))
        XCTAssertEqual(ChannelSelection.widths(fromLogits: [[-1, 2, 3], [-1, -2]]), [2, 1])
        XCTAssertEqual(ChannelSelection.annealed([1, 0.01], step: 0, of: 11), 1, accuracy: 1e-6)
        XCTAssertEqual(ChannelSelection.annealed([1, 0.01], step: 5, of: 11), 0.1, accuracy: 1e-6)
        XCTAssertEqual(ChannelSelection.annealed([1, 0.01], step: 10, of: 11), 0.01, accuracy: 1e-6)
    }

    /// A large penalty shrinks the network to one channel per block; without one more channels stay.
    func testPenaltyTradesSizeForLoss() throws {
        var rng = SeededGenerator(seed: 3)
        let data = Dataset(images: (0..<(64 * 16)).map { _ in Float.random(in: -1...1, using: &rng) }, labels: (0..<64).map { $0 % 3 },
                           height: 4, width: 4, channels: 1)
        let model = PrunableCNN(widths: [6, 6], classes: 3, seed: 1)
        var method = ChannelSelection()
        (method.steps, method.batchSize, method.initialLogit) = (60, 16, 0.5)
        method.penalty = 0
        let free = ChannelSelection.widths(fromLogits: try method.run(model, on: data))
        method.penalty = 20
        let penalised = ChannelSelection.widths(fromLogits: try method.run(model, on: data))
        XCTAssertLessThan(penalised.reduce(0, +), free.reduce(0, +), "penalised \(penalised), free \(free)")
        XCTAssertEqual(penalised, [1, 1])
        XCTAssertTrue(model.parameters().allSatisfy(\.requiresGrad), "the weights are unfrozen after selection")
        method.penalty = -1
        XCTAssertThrowsError(try method.run(model, on: data))
    }

    func testMagnitudeKeepsTheLargestFiltersAndRandomMatchesTheSize() {
        let model = PrunableCNN(widths: [4, 4], classes: 10, seed: 5)
        // Channel 2 of the first block has the smallest filter: magnitude pruning drops it first.
        let w = model.convolutionWeights[0], per = w.count / 4
        for i in (2 * per)..<(3 * per) { w.data[i] *= 0.01 }
        let target = PrunableCNN.parameterCount(widths: [3, 4])
        XCTAssertEqual(PruningBaselines.magnitudeWidths(model, targetParameters: target), [3, 4])
        let full = [32, 32, 64, 64], size = PrunableCNN.parameterCount(widths: [20, 25, 40, 50])
        let random = PruningBaselines.randomWidths(full: full, targetParameters: size, seed: 1)
        XCTAssertLessThanOrEqual(abs(PrunableCNN.parameterCount(widths: random) - size) * 20, size)
        XCTAssertEqual(random, PruningBaselines.randomWidths(full: full, targetParameters: size, seed: 1))
        XCTAssertTrue(zip(random, full).allSatisfy { $0 >= 1 && $0 <= $1 })
    }
}
